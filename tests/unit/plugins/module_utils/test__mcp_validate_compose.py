"""_mcp_validate_compose: ports, tags and the per-file checks."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_compose as co
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as ix
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_report import finding


@pytest.mark.parametrize(
    ("entry", "ports"),
    [("8080:80", [("8080", "tcp")]), ("127.0.0.1:8080:80/udp", [("8080", "udp")]), ("80", []), (8080, []),
     ("9000-9001:80-81", [("9000", "tcp"), ("9001", "tcp")]), ({"target": 80, "published": 8443}, [("8443", "tcp")])],
)  # fmt: skip
def test_parse_port(entry, ports):
    assert co.parse_port(entry) == ports


@pytest.mark.parametrize(
    ("image", "untagged"),
    [
        ("nginx", True),
        ("nginx:1.25", False),
        ("reg:5000/app", True),
        ("app@sha256:abc", False),
        ("${I}", False),
    ],
)
def test_image_untagged(image, untagged):
    assert co.image_untagged(image) is untagged


def check(tmp_path, files, rel="compose.yml", is_stack=False, collection=False):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    project = ix.Project(str(tmp_path))
    found = []
    checker = co.ComposeChecker(project, lambda *a, **k: found.append(finding(*a, **k)), [], collection)
    data = co.load_yaml_file(project, rel, lambda *a, **k: found.append(finding(*a, **k)))
    if data is not None:
        checker.check(rel, data, is_stack)
    return checker, found


def test_builds_become_plans_and_missing_dockerfile_hints_stay_neutral(tmp_path):
    files = {"compose.yml": "services:\n  a:\n    build:\n      context: svc\n      dockerfile: Dockerfile.prod\n"
                            "    image: a:1\n  b:\n    build: svc\n", "svc/Dockerfile": "FROM x:1\n"}  # fmt: skip
    checker, found = check(tmp_path, files)
    assert [(p.dockerfile, p.context, p.tags) for p in checker.plans] == [("svc/Dockerfile", "svc", [])]
    assert [(f["code"], f["line"]) for f in found] == [("dockerfile-missing", 5)]
    assert found[0]["hint"] == "Dockerfiles in svc: Dockerfile"
    assert checker.contexts == {"svc"}


def test_swarm_keys_only_for_stack_files(tmp_path):
    files = {"compose.yml": "services:\n  a:\n    image: x\n    container_name: a\n"}
    assert check(tmp_path, files, is_stack=False)[1] == []
    codes = sorted(f["code"] for f in check(tmp_path, files, is_stack=True)[1])
    assert codes == ["image-untagged", "swarm-ignored-key"]


def test_an_alias_bomb_is_a_finding_not_a_hang(tmp_path):
    text = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        "%s: &%s [%s]\n" % (n, n, ",".join(["*" + p] * 10)) for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    _checker, found = check(tmp_path, {"compose.yml": text})
    assert [f["code"] for f in found] == ["yaml-alias-limit"]
