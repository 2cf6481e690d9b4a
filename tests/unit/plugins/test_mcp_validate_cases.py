"""mcp_validate on trees laid out like the real projects of issue 18: a sound foreign project
(root-context Dockerfiles built by a script and by a CI workflow, compose files a script
writes itself, names in echo/print/reports, a vendor tree, backups and templates) must give
no error; broken start commands of each kind, Dockerfiles named only by CI or a Makefile,
a shell syntax error and an alias bomb must each give their finding, file and line. The
example project must validate with the lab registry the way roles/stack passes it."""

import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate as mv
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_shell as shell
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._stack import validate_servers

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "mcp_validate"
LAB_REGISTRY = ROOT / "inventory" / "lab" / "group_vars" / "all" / "stack.yml"


def keyed(result, severity=None):
    return sorted(
        (f["code"], f["path"], f["line"])
        for f in result["findings"]
        if severity is None or f["severity"] == severity
    )


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


# --- a sound project nobody here wrote -------------------------------------------------------


def test_sound_project_has_no_error_and_only_the_gitignored_env_warning():
    result = mv.validate(str(FIXTURES / "sound"))
    assert keyed(result, "error") == []
    assert keyed(result) == [("env-file-missing", "docker-compose.yml", 15)]
    (env,) = result["findings"]
    assert env["severity"] == "warning"
    assert env["hint"] == ".env is gitignored: each checkout creates it (from .env.example)"


def test_sound_project_builds_are_the_real_ones():
    builds = {
        (b["dockerfile"], b["context"], b["kind"]) for b in mv.validate(str(FIXTURES / "sound"))["builds"]
    }
    assert builds == {
        ("src/notes/Dockerfile", ".", "workflow"),
        ("src/weather/Dockerfile", ".", "compose"),
        ("src/weather/Dockerfile", ".", "script"),
        ("servers/api/Dockerfile", ".", "compose"),
        ("servers/api/Dockerfile", ".", "script"),
    }


def test_a_pep701_fstring_is_not_an_error_when_the_project_targets_312(tmp_path):
    project = copy_fixture("sound", tmp_path)
    # valid on 3.12 (requires-python >= 3.12), not on the 3.11 that runs the tests
    (project / "src" / "weather" / "fmt.py").write_text(
        "def show(items):\n    return f\"{'\\n'.join(items)}\"\n"
    )
    found = mv.validate(str(project))["findings"]
    assert [(f["code"], f["severity"]) for f in found if f["path"] == "src/weather/fmt.py"] in (
        [],  # the validation runs on 3.12+
        [("python-syntax-unchecked", "info")],
    )


def test_the_same_fstring_is_an_error_when_the_project_targets_311(tmp_path):
    project = copy_fixture("sound", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(">=3.12", ">=3.11"))
    (project / "src" / "weather" / "fmt.py").write_text("x = f\"{'\\n'.join([])}\"\n")
    codes = [f["code"] for f in mv.validate(str(project))["findings"] if f["path"] == "src/weather/fmt.py"]
    assert codes == ([] if sys.version_info >= (3, 12) else ["python-syntax"])


def test_vendor_backup_and_template_trees_are_not_validated_unless_included():
    assert not any(
        f["path"].startswith(("vendor/", "backup/", "templates/"))
        for f in mv.validate(str(FIXTURES / "sound"))["findings"]
    )
    result = mv.validate(str(FIXTURES / "sound"), include=["vendor"])
    assert ("build-context-missing", "vendor/acme/deploy/docker-compose.yml", 3) in keyed(result)
    assert ("compose-file-missing", "vendor/acme/deploy/run.sh", 2) in keyed(result)


def test_an_excluded_path_is_not_validated(tmp_path):
    project = copy_fixture("sound", tmp_path)
    (project / "experiments").mkdir()
    (project / "experiments" / "try.sh").write_text("docker compose -f nothing-here.compose.yml up\n")
    assert ("compose-file-missing", "experiments/try.sh", 1) in keyed(mv.validate(str(project)))
    assert keyed(mv.validate(str(project), exclude=["experiments"]), "error") == []


def test_a_bare_module_from_a_script_is_not_judged_against_an_unrelated_root_file(tmp_path):
    project = copy_fixture("sound", tmp_path)
    (project / "scripts" / "api.sh").write_text("#!/bin/sh\ncd servers/api && exec uvicorn main:app\n")
    (project / "scripts" / "bad.sh").write_text("#!/bin/sh\nexec uvicorn src.weather.server:application\n")
    found = {
        (f["code"], f["path"]) for f in mv.validate(str(project))["findings"] if f["severity"] == "error"
    }
    assert found == {("module-attribute-missing", "scripts/bad.sh")}


def test_a_compose_file_used_with_stack_deploy_gets_the_swarm_warnings(tmp_path):
    project = copy_fixture("sound", tmp_path)
    (project / "deploy.sh").write_text("#!/bin/sh\ndocker stack deploy \\\n  -c docker-compose.yml mcp\n")
    codes = {(f["code"], f["line"]) for f in mv.validate(str(project))["findings"]}
    assert ("swarm-ignored-key", 8) in codes  # container_name, now that the file is a stack


# --- broken start commands and builds -----------------------------------------------------

BROKEN_STARTS = [
    # (code, path, line, text in the hint)
    ("dockerfile-missing", ".github/workflows/release.yml", 11, None),
    ("dockerfile-missing", "Makefile", 6, None),
    ("compose-file-missing", "deploy/stack.sh", 4, "did you mean docker-compose.cloud.yml.backup?"),
    ("module-unresolved", "servers/github/Dockerfile", 6, "servers/github/server.py is in the build context"),
    ("start-file-missing", "servers/hello/Dockerfile", 4, "did you mean /app/app.py?"),
    ("module-unresolved", "servers/memory/Dockerfile", 6, "did you mean enhanced_ai_memory_server?"),
    ("module-unresolved", "servers/stability/Dockerfile", 5, "did you mean mcp_server_stability?"),
    ("console-script-missing", "docker-compose.yml", 6, "did you mean mcp-server-stability?"),
]


def test_broken_start_commands_each_give_their_finding_with_a_hint():
    result = mv.validate(str(FIXTURES / "broken_starts"))
    assert keyed(result) == sorted((c, p, line) for c, p, line, _h in BROKEN_STARTS)
    by_key = {(f["code"], f["path"], f["line"]): f for f in result["findings"]}
    for code, path, line, hint in BROKEN_STARTS:
        assert by_key[(code, path, line)]["severity"] == "error"
        if hint:
            assert hint in by_key[(code, path, line)]["hint"], by_key[(code, path, line)]
    # no collection variable in a finding about a foreign project
    assert not any(
        "secrets_" in (f["hint"] or "") or "stack_" in (f["hint"] or "") for f in result["findings"]
    )


def test_a_shell_syntax_error_is_found_without_running_the_script(tmp_path):
    project = copy_fixture("broken_starts", tmp_path)
    marker = tmp_path / "ran"
    (project / "deploy" / "rollout.sh").write_text(
        f'#!/bin/bash\ntouch {marker}\nif true; then\n  echo "x\nfi\n'
    )
    found = [f for f in mv.validate(str(project))["findings"] if f["path"] == "deploy/rollout.sh"]
    if shutil.which("bash") is None:
        pytest.skip("no bash here")
    assert [(f["code"], f["line"]) for f in found] == [("shell-syntax", 4)]
    assert "unexpected EOF" in found[0]["message"]
    assert not marker.exists()


def test_without_bash_the_shell_check_is_one_info(tmp_path, monkeypatch):
    monkeypatch.setattr(shell.shutil, "which", lambda _name: None)
    found = mv.validate(str(FIXTURES / "sound"))["findings"]
    assert [(f["code"], f["severity"]) for f in found if f["code"].startswith("shell")] == [
        ("shell-syntax-unchecked", "info")
    ]


def test_an_alias_bomb_compose_file_is_refused_fast_with_file_and_line(tmp_path):
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        bomb += "%s: &%s [%s]\n" % (name, name, ",".join(["*" + previous] * 9))
        previous = name
    bomb += "services: {x: {image: *i}}\n"
    assert len(bomb) < 520
    (tmp_path / "docker-compose.yml").write_text(bomb)
    started = time.perf_counter()
    found = mv.validate(str(tmp_path))["findings"]
    assert time.perf_counter() - started < 1.0
    assert [(f["code"], f["path"]) for f in found] == [("yaml-alias-limit", "docker-compose.yml")]
    assert found[0]["line"] and found[0]["line"] > 1


def test_the_same_missing_compose_file_in_one_script_is_one_finding_with_a_count(tmp_path):
    (tmp_path / "up.sh").write_text(
        "".join("docker compose -f gone.compose.yml up s%d\n" % i for i in range(5))
    )
    (finding,) = mv.validate(str(tmp_path))["findings"]
    assert (finding["code"], finding["count"], finding["lines"]) == (
        "compose-file-missing",
        5,
        [1, 2, 3, 4, 5],
    )
    assert "5 times in this file" in finding["message"]


# --- the example project with the lab registry ----------------------------------------------


def lab_registry():
    return yaml.safe_load(LAB_REGISTRY.read_text())["mcp_servers"]


def test_example_project_has_no_error_with_the_lab_registry_as_roles_stack_passes_it():
    servers = [dict(s, context=".") for s in lab_registry()]
    servers.append(
        {"name": "prebuilt", "image": "registry.example:5000/prebuilt:1.0", "port": 8199, "context": "."}
    )
    result = mv.validate(str(ROOT / "examples" / "mcp-project"), servers=servers)
    assert keyed(result, "error") == []
    listed = {s["name"]: s for s in result["servers"]}
    assert listed["prebuilt"]["image"] and listed["prebuilt"]["exists"] is None
    for server in lab_registry():
        if server.get("module"):
            assert listed[server["name"]]["module_file"], server["name"]


def test_example_project_has_no_error_through_the_stacks_own_build_rules():
    result = mv.validate(str(ROOT / "examples" / "mcp-project"), servers=validate_servers(lab_registry()))
    assert keyed(result, "error") == []
    assert {b["kind"] for b in result["builds"]} == {"registry"}


def test_clean_fixture_stays_clean_with_every_check():
    assert mv.validate(str(FIXTURES / "clean"))["findings"] == []
