"""_mcp_validate_build: plans from scripts, CI workflows and the registry."""

from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_build as bd
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as ix
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_scripts import CommandScan
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_yaml import (
    load_yaml_with_lines,
)


def project(tmp_path):
    for rel in ("src/api/Dockerfile", "src/api/main.py", "svc/Dockerfile", "svc/requirements.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM x:1\n")
    return ix.Project(str(tmp_path))


def test_script_builds_resolve_from_the_script_folder_or_above(tmp_path):
    p = project(tmp_path)
    scan = CommandScan("scripts/build.sh", ["scripts", ""])
    scan.shell("docker build -f src/api/Dockerfile -t api:1 .\ndocker build svc\ndocker build -f gone/Dockerfile .\n"
               "docker build nowhere\n")  # fmt: skip
    findings = []
    plans = bd.plans_from_scan(p, scan, findings)
    assert [(pl.dockerfile, pl.context, pl.line, pl.tags) for pl in plans] == [
        ("src/api/Dockerfile", "", 1, ["api:1"]), ("svc/Dockerfile", "svc", 2, []),
    ]  # fmt: skip
    assert [(f["code"], f["line"]) for f in findings] == [
        ("dockerfile-missing", 3),
        ("build-context-missing", 4),
    ]


def test_workflow_build_push_action_and_run_lines(tmp_path):
    p = project(tmp_path)
    text = (
        "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          context: .\n"
        "          file: src/api/Dockerfile\n          build-args: |\n            MODE=ci\n"
        "      - uses: docker/build-push-action@v6\n        with:\n          file: docker/Dockerfile.gone\n"
        "      - run: |\n          echo start\n          docker build -f svc/Dockerfile svc\n"
    )
    data, _d = load_yaml_with_lines(text)
    findings = []
    scan, plans = bd.scan_workflow(p, ".github/workflows/ci.yml", data, findings)
    assert [(pl.dockerfile, pl.context, pl.line, pl.args) for pl in plans] == [
        ("src/api/Dockerfile", "", 7, {"MODE": "ci"})
    ]
    assert [(f["code"], f["line"]) for f in findings] == [("dockerfile-missing", 12)]
    assert [(b.dockerfile, b.line) for b in scan.builds] == [("svc/Dockerfile", 15)]


def test_registry_plans(tmp_path):
    p = project(tmp_path)
    own = bd.registry_plan(p, {"name": "a", "path": "svc", "context": "."}, "servers[0] (a)")
    standard = bd.registry_plan(p, {"name": "b", "path": "src/api", "context": "."}, "servers[1] (b)")
    assert (own.dockerfile, own.context) == ("svc/Dockerfile", "")
    assert standard.dockerfile == "src/api/Dockerfile"
    assert bd.registry_plan(p, {"name": "c", "image": "x:1", "context": "."}, "s") is None
    assert bd.registry_plan(p, {"name": "d", "path": "svc"}, "s") is None  # no context: no plan
    image = bd.standard_image(p, "")
    assert image.workdir == "/app" and image.lookup("/app/svc/requirements.txt") == "file"
