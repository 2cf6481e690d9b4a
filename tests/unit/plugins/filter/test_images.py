"""plugins/filter/images.py: the filters as Ansible calls them, and their documentation (the
logic's tables are in tests/unit/plugins/module_utils/test__images.py)."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.filter import images

FILTERS = images.FilterModule().filters()
TREE = "c" * 64


def test_plan_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match="name is missing or invalid"):
        FILTERS["stack_image_plan"]([{"context": "/p"}], {"/p": TREE}, "r:5000", "mcp", "/w")


def test_refs_without_digest_fail_unless_tags_are_allowed():
    planned = FILTERS["stack_image_plan"](
        [{"name": "a", "context": "/p"}], {"/p": TREE}, "r:5000", "mcp", "/w"
    )
    with pytest.raises(AnsibleFilterError, match="knows no digest"):
        FILTERS["stack_image_refs"](planned["images"], [])
    assert FILTERS["stack_image_refs"](planned["images"], [], True) == {"a": planned["images"][0]["ref"]}


def test_actions_take_no_answers():
    planned = FILTERS["stack_image_plan"](
        [{"name": "a", "context": "/p"}], {"/p": TREE}, "r:5000", "mcp", "/w"
    )
    assert FILTERS["stack_image_actions"](planned, None, None)["images"][0]["action"] == "build"


def test_server_images_read_the_project(tmp_path):
    (tmp_path / "srv" / "own").mkdir(parents=True)
    (tmp_path / "srv" / "own" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / ".dockerignore").write_text("dist\n")
    servers = [
        {"name": "own", "path": "srv/own", "module": "m", "port": 8101},
        {"name": "std", "path": "srv/std", "module": "m", "port": 8102},
    ]
    out = FILTERS["stack_server_images"](
        servers, {"project_dir": str(tmp_path), "gateway_context": "/g", "base_image": "b", "standard": {}}
    )
    assert [i["dockerfile"] for i in out] == ["srv/own/Dockerfile", ".sophia/Dockerfile.mcp-uv", "Dockerfile"]
    assert out[0]["files"][-1]["content"].startswith("dist\n")


def test_server_images_say_what_is_missing():
    with pytest.raises(AnsibleFilterError, match="project_dir"):
        FILTERS["stack_server_images"]([], {})
    with pytest.raises(AnsibleFilterError, match="missing 'gateway_context'"):
        FILTERS["stack_server_images"]([], {"project_dir": "/nonexistent", "base_image": "b"})
