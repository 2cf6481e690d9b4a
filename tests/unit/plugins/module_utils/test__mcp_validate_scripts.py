"""_mcp_validate_scripts: what commands do with files; prose never counts."""

import ast

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_scripts as sc


def scan_shell(text, rel="run.sh"):
    scan = sc.CommandScan(rel, [""])
    scan.shell(text)
    return scan


def refs(scan):
    return [(r.kind, r.values, r.line) for r in scan.refs]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("docker compose -f a.yml -f b.yml up\n", [("compose", ["a.yml", "b.yml"], 1)]),
        ("docker-compose --file=x.yaml config\n", [("compose", ["x.yaml"], 1)]),
        ("docker stack deploy \\\n  -c one.yml -c two.yml s\n", [("stack", ["one.yml", "two.yml"], 1)]),
        (
            'docker compose -f "${1:-docker-compose.cloud.yml}" up\n',
            [("compose", ["docker-compose.cloud.yml"], 1)],
        ),
        ("export COMPOSE_FILE=a.yml:b.yml\n", [("env", ["a.yml", "b.yml"], 1)]),
        ('echo "Analyzing docker-compose.cloud.yml ..."\n', []),
        ("printf '%s' docker-compose.cloud.yml\n", []),
        ("# docker compose -f commented.yml up\n", []),
        ("if [ ! -f docker-compose.x.yml ]; then :; fi\n", []),
        ("cat > docker-compose.x.yml << 'EOF'\ndocker compose -f inside.yml up\nEOF\n", []),
        ("sudo -E docker compose -f s.yml up\n", []),  # sudo flags: not followed, nothing guessed
    ],
)
def test_references_are_command_arguments_only(text, expected):
    assert refs(scan_shell(text)) == expected


def test_created_files():
    scan = scan_shell(
        "cat > docker-compose.gen.yml << 'EOF'\nx\nEOF\ncp a.yml docker-compose.copy.yml\n"
        "envsubst < t.yml | tee docker-compose.tee.yml\nmv old.yml docker-compose.moved.yml\n"
        "curl -o docker-compose.dl.yml https://x\n"
    )
    assert set(scan.created) == {"docker-compose.gen.yml", "docker-compose.copy.yml", "docker-compose.tee.yml",
                                 "docker-compose.moved.yml", "docker-compose.dl.yml"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "build"),
    [
        ("docker build -f src/x/Dockerfile -t x:1 .\n", ("src/x/Dockerfile", ".", ["x:1"], {})),
        (
            "docker buildx build --file=d/Dockerfile --build-arg A=1 --push ctx\n",
            ("d/Dockerfile", "ctx", [], {"A": "1"}),
        ),
        ("podman build svc >/dev/null 2>&1\n", (None, "svc", [], {})),
        ("docker build -t x - < Dockerfile\n", None),
        ("docker build https://github.com/x/y.git\n", None),
    ],
)
def test_builds(text, build):
    scan = scan_shell(text)
    got = [(b.dockerfile, b.context, b.tags, b.args) for b in scan.builds]
    assert got == ([build] if build else [])


def test_makefile_recipes_and_variables():
    scan = sc.CommandScan("Makefile", [""])
    scan.shell(
        "COMPOSE = docker compose -f deploy/c.yml\nup:\n\t@$(COMPOSE) up\n\tdocker build -f a/Dockerfile .\n",
        makefile=True,
    )
    assert refs(scan) == [("compose", ["deploy/c.yml"], 1)]
    assert [(b.dockerfile, b.line) for b in scan.builds] == [("a/Dockerfile", 4)]


def test_python_launchers():
    source = (
        "import subprocess\n"
        "print('docker-compose.cloud.yml is old')\n"
        "subprocess.run(['docker', 'stack', 'deploy', '-c', 'stack.yml', 's'])\n"
        "subprocess.run('docker compose -f shell.compose.yml up', shell=True)\n"
        "open('docker-compose.read.yml').read()\n"
        "open('docker-compose.write.yml', 'w').write('x')\n"
        "SERVERS = [{'name': 'a', 'module': 'pkg.server'}]\n"
        "subprocess.run(['python', '-m', 'tools.seed'])\n"
    )
    scan = sc.CommandScan("launch.py", [""])
    sc.scan_python(scan, ast.parse(source))
    assert sorted(refs(scan)) == [("compose", ["shell.compose.yml"], 4), ("read", ["docker-compose.read.yml"], 5),
                                  ("stack", ["stack.yml"], 3)]  # fmt: skip
    assert scan.created == ["docker-compose.write.yml"]
    assert scan.modules == [(7, "pkg.server")]
    assert scan.claims == [(8, ("module", "tools.seed"))]


def test_python_launcher_statements_without_hints_are_not_walked():
    handlers = "".join("def handler_%d(request):\n    return [request] * %d\n\n" % (i, i) for i in range(20))
    source = (
        "import subprocess\n"
        + handlers
        + "@task(\n    name='x',\n)\n"
        + "def deploy(\n    target,\n):\n"
        + "    cmd = [\n        'docker',\n        'stack', 'deploy', '-c', 'stack.yml', 's',\n    ]\n"
        + "    return subprocess.run(cmd)\n"
        + "class Seeds:\n    SERVERS = {\n        'module': 'pkg.server'}\n"
        + "Path('compose.out.yml').write_text('x')\n"
    )
    tree = ast.parse(source)
    picked = sc._statements(tree, source)
    assert [type(s).__name__ for s in picked] == ["FunctionDef", "ClassDef", "Expr"]
    filtered, walked = sc.CommandScan("a.py", [""]), sc.CommandScan("a.py", [""])
    sc.scan_python(filtered, tree, source)
    sc.scan_python(walked, tree)
    for attr in ("refs", "created", "modules", "claims"):
        assert [vars(r) if hasattr(r, "__dict__") else r for r in getattr(filtered, attr)] == [
            vars(r) if hasattr(r, "__dict__") else r for r in getattr(walked, attr)
        ]
    assert refs(filtered) == [("stack", ["stack.yml"], 68)]
    assert filtered.modules == [(75, "pkg.server")] and filtered.created == ["compose.out.yml"]
    # a lone CR ends a line for the parser: every statement is walked then
    assert sc._statements(tree, source.replace("\n", "\r", 1)) == [tree]


@pytest.mark.parametrize(
    ("rel", "text", "expected"),
    [
        (
            "deploy.yml",
            "stack:\n  compose_file: deploy/docker-compose.prod.yml\n",
            [("read", ["deploy/docker-compose.prod.yml"], 2)],
        ),
        ("deploy.yml", "files:\n  - docker-compose.a.yml\n", [("read", ["docker-compose.a.yml"], 2)]),
        ("report.json", '{"summary": "docker-compose.cloud.yml was replaced"}\n', []),
        ("cfg.json", '{"compose_file": "docker-compose.x.yml"}\n', [("read", ["docker-compose.x.yml"], 1)]),
        (".env", "COMPOSE_FILE=a.yml:b.yml\n", [("env", ["a.yml", "b.yml"], 1)]),
    ],
)
def test_configs(rel, text, expected):
    scan = sc.CommandScan(rel, [""])
    sc.scan_config(scan, text)
    assert refs(scan) == expected
