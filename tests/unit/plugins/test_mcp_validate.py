"""mcp_validate's logic: the fixture projects, one small broken tree per check, and the
pure helpers, table by table."""

import json
import os
from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate as mv
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as _index

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mcp_validate"


def keyed(result):
    return sorted((f["code"], f["path"], f["line"]) for f in result["findings"])


def test_clean_project_has_no_findings():
    result = mv.validate(str(FIXTURES / "clean"))
    assert result["findings"] == []
    assert result["summary"]["by_severity"] == {"error": 0, "warning": 0, "info": 0}


BROKEN_EXPECTED = [
    ("build-context-missing", "docker-compose.yml", 3, "did you mean backend/mcp_servers/ai_memory?"),
    ("compose-file-missing", "scripts/deploy.sh", 4, "did you mean docker-compose.yml?"),
    ("compose-syntax", "compose.bad.yml", 3, "fix the YAML"),
    ("copy-source-missing", "backend/mcp_servers/notes/Dockerfile", 4, "inside the build context"),
    ("dockerfile-missing", "docker-compose.yml", 9, "Dockerfiles in backend/mcp_servers/notes: Dockerfile"),
    ("env-file-missing", "docker-compose.yml", 14, "create it or mark it required: false"),
    ("image-untagged", "docker-compose.stack.yml", 3, "pin a tag"),
    ("module-attribute-missing", "Makefile", 2, "define application in backend/mcp_servers/notes/server.py"),
    ("module-unresolved", "docker-compose.yml", 17, "did you mean backend.mcp_servers.search.server?"),
    ("module-unresolved", "launcher.py", 2, "did you mean backend.mcp_servers.ai_memory.server?"),
    ("port-conflict", "docker-compose.yml", 11, "publish another port"),
    ("python-syntax", "backend/mcp_servers/search/server.py", 1, "fix the syntax"),
    ("secret-external", "docker-compose.stack.yml", 19, "secrets role"),
    ("secret-file-missing", "docker-compose.stack.yml", 18, "did you mean secrets/db_password.txt?"),
    ("secret-undeclared", "docker-compose.yml", 13, "declare it under top-level 'secrets:'"),
    ("swarm-ignored-key", "docker-compose.stack.yml", 4, None),
    ("swarm-ignored-key", "docker-compose.stack.yml", 10, "build and push the image first"),
]


def test_broken_project_reports_each_defect_once_with_line_and_hint():
    result = mv.validate(str(FIXTURES / "broken"))
    assert keyed(result) == sorted((c, p, line) for c, p, line, _hint in BROKEN_EXPECTED)
    by_key = {(f["code"], f["path"], f["line"]): f for f in result["findings"]}
    for code, path, line, hint in BROKEN_EXPECTED:
        found = by_key[(code, path, line)]
        if hint:
            assert hint in found["hint"], (code, found["hint"])
    assert result["summary"]["by_severity"] == {"error": 13, "warning": 3, "info": 1}


def test_servers_are_discovered_with_their_dockerfiles():
    servers = {s["name"]: s for s in mv.validate(str(FIXTURES / "clean"))["servers"]}
    assert set(servers) == {"ai_memory", "notes", "search"}
    assert servers["notes"]["dockerfile"] == "backend/mcp_servers/notes/Dockerfile"
    assert servers["ai_memory"]["module_file"] == "backend/mcp_servers/ai_memory/server.py"
    assert all(s["source"] == "discovered" for s in servers.values())


def write_tree(root: Path, files: dict) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


PKG = {"app/__init__.py": "", "app/main.py": "app = object()\n", "app/Dockerfile": "FROM x:1\nCOPY . /a\n"}

CASES = [
    # id, files, expected [(code, path, line)]
    (
        "include-missing",
        {"compose.yml": "include:\n  - other/compose.yml\nservices: {}\n"},
        [("compose-file-missing", "compose.yml", 2)],
    ),
    (
        "extends-missing",
        {
            "compose.yml": "services:\n  a:\n    image: x:1\n    extends:\n      file: base.yml\n      service: b\n"
        },
        [("compose-file-missing", "compose.yml", 5)],
    ),
    (
        "compose-file-env",
        {
            ".env": "COMPOSE_FILE=docker-compose.yml:docker-compose.gpu.yml\n",
            "docker-compose.yml": "services: {}\n",
        },
        [("compose-file-missing", ".env", 1)],
    ),
    (
        "compose-file-workflow",
        {
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: docker compose -f compose.ci.yml up\n"
        },
        [("compose-file-missing", ".github/workflows/ci.yml", 4)],
    ),
    (
        "compose-file-python-argv",
        {"deploy.py": 'CMD = ["docker", "stack", "deploy", "-c", "stack/docker-compose.prod.yml", "mcp"]\n'},
        [("compose-file-missing", "deploy.py", 1)],
    ),
    (
        "uvicorn-options-first",
        {**PKG, "run.sh": "uvicorn --host 0.0.0.0 --port 8000 app.main:application\n"},
        [("module-attribute-missing", "run.sh", 1)],
    ),
    ("uvicorn-ok", {**PKG, "run.sh": "exec uvicorn app.main:app --port 1\n"}, []),
    (
        "python-m-missing",
        {**PKG, "Makefile": "run:\n\tpython3 -u -m app.server\n"},
        [("module-unresolved", "Makefile", 2)],
    ),
    (
        "third-party-module-ignored",
        {**PKG, "run.sh": "python -m pip install x\npython -m http.server\npython -m uvicorn app.main:app\n"},
        [],
    ),
    (
        "module-key-yaml",
        {**PKG, "config/servers.yaml": "servers:\n  - name: a\n    module: app.gone\n"},
        [("module-unresolved", "config/servers.yaml", 3)],
    ),
    (
        "module-key-json",
        {**PKG, "mcp.json": '{"servers": [{"module": "app.main"}, {"module": "app.old"}]}\n'},
        [("module-unresolved", "mcp.json", 1)],
    ),
    (
        "dockerfile-cmd-module",
        {**PKG, "app/Dockerfile": 'FROM x:1\nCOPY . /a\nCMD ["python", "-m", "app.nothere"]\n'},
        [("module-unresolved", "app/Dockerfile", 3)],
    ),
    (
        "copy-glob-and-from",
        {
            "svc/Dockerfile": "FROM x:1 AS b\nCOPY --from=b /x /y\nCOPY *.txt /a/\nADD https://example.invalid/f /f\n",
            "svc/a.py": "",
        },
        [("copy-source-missing", "svc/Dockerfile", 3)],
    ),
    (
        "copy-continuation",
        {"svc/Dockerfile": "FROM x:1\nCOPY a.py \\\n     b.py /app/\n", "svc/a.py": ""},
        [("copy-source-missing", "svc/Dockerfile", 2)],
    ),
    (
        "copy-leaves-context",
        {"svc/Dockerfile": "FROM x:1\nCOPY ../shared /s\n"},
        [("copy-source-missing", "svc/Dockerfile", 2)],
    ),
    (
        "duplicate-service-key",
        {"compose.yml": "services:\n  a:\n    image: x:1\n  a:\n    image: y:1\n"},
        [("compose-duplicate-key", "compose.yml", 4)],
    ),
    (
        "port-long-and-range",
        {
            "compose.yml": "services:\n  a:\n    image: x:1\n    ports:\n      - target: 80\n        published: 8080\n"
            "  b:\n    image: y:1\n    ports: ['8079-8081:80-82']\n"
        },
        [("port-conflict", "compose.yml", 9)],
    ),
    (
        "port-udp-and-tcp-differ",
        {
            "compose.yml": "services:\n  a:\n    image: x:1\n    ports: ['53:53/udp']\n"
            "  b:\n    image: y:1\n    ports: ['53:53/tcp']\n"
        },
        [],
    ),
    (
        "override-pair-conflict",
        {
            "docker-compose.yml": "services:\n  a:\n    image: x:1\n    ports: ['80:80']\n",
            "docker-compose.override.yml": "services:\n  b:\n    image: y:1\n    ports: ['80:8080']\n",
        },
        [("port-conflict", "docker-compose.override.yml", 4)],
    ),
    (
        "stack-deploy-group-conflict",
        {
            "deploy.sh": "docker stack deploy -c one.compose.yml -c two.compose.yml s\n",
            "one.compose.yml": "services:\n  a:\n    image: x:1\n    ports: ['80:80']\n",
            "two.compose.yml": "services:\n  b:\n    image: y:1\n    ports: ['80:80']\n",
        },
        [("port-conflict", "two.compose.yml", 4)],
    ),
    (
        "config-undeclared",
        {"compose.yml": "services:\n  a:\n    image: x:1\n    configs: [nginx_conf]\n"},
        [("config-undeclared", "compose.yml", 4)],
    ),
    (
        "env-file-optional",
        {
            "compose.yml": "services:\n  a:\n    image: x:1\n    env_file:\n      - path: .env.local\n        required: false\n"
        },
        [],
    ),
    (
        "stack-keys",
        {
            "compose.yml": "services:\n  a:\n    image: x\n    privileged: true\n    depends_on:\n      db:\n        condition: service_healthy\n"
            "    deploy: {replicas: 2}\n  db:\n    image: pg:16\n"
        },
        [
            ("image-untagged", "compose.yml", 3),
            ("swarm-ignored-key", "compose.yml", 4),
            ("swarm-ignored-key", "compose.yml", 5),
        ],
    ),
    (
        "plain-compose-keys-ok",
        {"compose.yml": "services:\n  a:\n    image: x\n    container_name: a\n    privileged: true\n"},
        [],
    ),
    ("binary-file", {"tool.sh": b"\x7fELF\x00\x00\x01"}, [("file-skipped", "tool.sh", None)]),
    ("compose-not-a-mapping", {"compose.yml": "- just\n- a list\n"}, []),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check(tmp_path, files, expected):
    write_tree(tmp_path, files)
    assert keyed(mv.validate(str(tmp_path))) == sorted(expected)


def test_huge_file_is_skipped_with_a_finding(tmp_path, monkeypatch):
    monkeypatch.setattr(_index, "MAX_FILE_BYTES", 100)
    write_tree(tmp_path, {"big.sh": "echo docker-compose.gone.yml\n" * 10})
    found = mv.validate(str(tmp_path))["findings"]
    assert [(f["code"], f["path"]) for f in found] == [("file-skipped", "big.sh")]
    assert "over the 100 byte scan limit" in found[0]["message"]


def test_symlinks_out_of_the_project_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write_tree(
        outside, {"compose.yml": "services: {bad: [\n", "secret.sh": "docker compose -f nope.yml up\n"}
    )
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(outside / "compose.yml", project / "compose.yml")
    os.symlink(outside, project / "vendor")
    os.symlink(project / "missing.sh", project / "dangling.sh")
    result = mv.validate(str(project))
    assert keyed(result) == [("file-unreadable", "dangling.sh", None),
                             ("symlink-outside-project", "compose.yml", None),
                             ("symlink-outside-project", "vendor", None)]  # fmt: skip


def test_fifo_is_never_opened(tmp_path):
    os.mkfifo(tmp_path / "run.sh")
    assert keyed(mv.validate(str(tmp_path))) == [("file-skipped", "run.sh", None)]


def test_declared_servers_are_checked_and_resolved(tmp_path):
    write_tree(tmp_path, {**PKG, "backend/mcp_servers/notes/server.py": "app = 1\n"})
    servers = [
        {"name": "main", "path": "app", "module": "app.main", "port": 8000},
        {"name": "gone", "path": "backend/mcp_servers/note", "port": 8000},
        {"name": "moved", "path": "app", "module": "app.mian"},
        {"name": "cmd", "path": "app", "command": ["uvicorn", "main:app"]},
    ]
    result = mv.validate(str(tmp_path), servers=servers)
    assert keyed(result) == [
        ("module-unresolved", "servers[2] (moved)", None),
        ("port-conflict", "servers[1] (gone)", None),
        ("server-path-missing", "servers[1] (gone)", None),
    ]
    by_code = {f["code"]: f for f in result["findings"]}
    assert by_code["server-path-missing"]["hint"] == "did you mean backend/mcp_servers/notes?"
    assert by_code["module-unresolved"]["hint"] == "did you mean app.main?"
    resolved = {s["name"]: s for s in result["servers"]}
    assert resolved["main"]["module_file"] == "app/main.py"
    assert resolved["main"]["dockerfile"] == "app/Dockerfile"
    assert resolved["gone"]["exists"] is False
    assert resolved["notes"]["source"] == "discovered" and resolved["notes"]["dockerfile"] == "standard"


def test_project_dir_must_exist(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        mv.validate(str(tmp_path / "nope"))


def test_sarif_is_2_1_0_with_rules_and_regions():
    result = mv.validate(str(FIXTURES / "broken"))
    sarif = mv.to_sarif(result)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(mv.RULES)
    assert len(run["results"]) == len(result["findings"])
    first = run["results"][0]
    assert first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] and location["region"]["startLine"] >= 1
    note = next(r for r in run["results"] if r["ruleId"] == "secret-external")
    assert note["level"] == "note"
    json.dumps(sarif)


@pytest.mark.parametrize(
    ("entry", "ports"),
    [
        ("8080:80", [("8080", "tcp")]),
        ("127.0.0.1:8080:80/udp", [("8080", "udp")]),
        ("80", []),
        (8080, []),
        ("9000-9001:80-81", [("9000", "tcp"), ("9001", "tcp")]),
        ({"target": 80, "published": 8443, "protocol": "tcp"}, [("8443", "tcp")]),
        ({"target": 80}, []),
    ],
)
def test_parse_port(entry, ports):
    assert mv.parse_port(entry) == ports


@pytest.mark.parametrize(
    ("image", "untagged"),
    [("nginx", True), ("nginx:1.25", False), ("registry.lab:5000/app", True), ("registry.lab:5000/app:1", False),
     ("app@sha256:abc", False), ("${IMAGE}", False), (None, False)],
)  # fmt: skip
def test_image_untagged(image, untagged):
    assert mv.image_untagged(image) is untagged


@pytest.mark.parametrize(
    ("line", "refs"),
    [
        ("python -m backend.x.server", [("python -m", "backend.x.server", None)]),
        ("python3.11 -u -m srv.main", [("python -m", "srv.main", None)]),
        ("uv run uvicorn --reload pkg.app:create_app()", [("uvicorn", "pkg.app", "create_app")]),
        ("gunicorn -w 4 -k uvicorn.workers.UvicornWorker api.main:app", [("uvicorn", "api.main", "app")]),
        ("echo python -m is nice", []),
        ("# python -m commented.out", []),
        ("exec python -m tools.seed && echo done", [("python -m", "tools.seed", None)]),
    ],
)
def test_command_module_refs(line, refs):
    assert mv.command_module_refs(line) == refs


def test_dockerfile_instructions_join_continuations_and_skip_comments():
    text = "# syntax=docker/dockerfile:1\nFROM x:1\n\nRUN apt-get update && \\\n    # a comment\n    apt-get install y\nCOPY a b\n"
    assert mv.dockerfile_instructions(text) == [
        (2, "FROM", "x:1"),
        (4, "RUN", "apt-get update &&  apt-get install y"),
        (7, "COPY", "a b"),
    ]


@pytest.mark.parametrize(
    ("args", "sources"),
    [("a b /dst/", ["a", "b"]), ("--chown=1:1 a /d", ["a"]), ('["a b", "/d"]', ["a b"]), ("--from=build /x /y", []),
     ("<<EOF /x", []), ("only", [])],
)  # fmt: skip
def test_copy_sources(args, sources):
    assert mv.copy_sources(args) == sources


@pytest.mark.parametrize(
    ("source", "name", "defined"),
    [("app = 1\n", "app", True), ("def app(): pass\n", "app", True), ("from x import app\n", "app", True),
     ("import app\n", "app", True), ("a, app = 1, 2\n", "app", True), ("if True:\n    app = 1\n", "app", False),
     ("application = 1\n", "app", False), ("app: int = 1\n", "app", True)],
)  # fmt: skip
def test_defines_name(source, name, defined):
    assert mv.defines_name(source, name) is defined


def test_yaml_lines_and_merge_keys():
    data, duplicates = mv.load_yaml_with_lines("x: &base\n  a: 1\ny:\n  <<: *base\n  b: 2\n")
    assert data.lines == {"x": 1, "y": 3}
    assert data["y"] == {"a": 1, "b": 2}
    assert duplicates == []


def test_reaches_orders_severities():
    findings = [{"severity": "error"}, {"severity": "warning"}, {"severity": "info"}]
    assert len(mv.reaches(findings, "error")) == 1
    assert len(mv.reaches(findings, "warning")) == 2


def test_a_dockerfile_outside_the_project_is_a_finding_not_a_crash(tmp_path):
    write_tree(tmp_path, {**PKG})
    servers = [
        {"name": "main", "path": "app", "module": "app.main", "dockerfile": "../Dockerfile", "context": "."}
    ]
    result = mv.validate(str(tmp_path), servers=servers)
    assert ("path-outside-project", "servers[0] (main)", None) in keyed(result)
