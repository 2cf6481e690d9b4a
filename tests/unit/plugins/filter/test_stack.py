"""plugins/filter/stack.py: the checker's targets on the overlay (the registry's other filters
are tested in tests/unit/plugins/test_stack_logic.py)."""

import inspect
from pathlib import Path

import pytest
import yaml
from ansible_collections.sophia.lambda_swarm.plugins.filter import stack

FILTERS = stack.FilterModule().filters()
DOCS = Path(stack.__file__).resolve().parent


@pytest.mark.parametrize(
    ("entry", "timeout", "want"),
    [
        (
            {"name": "a", "port": 8101, "health": {"expect_tools": ["x"]}},
            10,
            [{"name": "a", "url": "http://a:8101/mcp", "expect_tools": ["x"], "timeout": 10}],
        ),
        ({"name": "a", "port": 8101}, None, [{"name": "a", "url": "http://a:8101/mcp", "expect_tools": []}]),
        (
            {"name": "a", "port": 8101, "replicas": 1, "health": {"expect_tools": 3}},
            None,
            [{"name": "a", "url": "http://a:8101/mcp", "expect_tools": 3}],
        ),
        ({"name": "a", "port": 8101, "replicas": 0}, 10, []),
    ],
    ids=["tools-and-timeout", "defaults", "a-count", "not-running"],
)
def test_overlay_targets(entry, timeout, want):
    assert FILTERS["mcp_overlay_targets"]([entry], timeout) == want


def test_overlay_and_gateway_targets_check_the_same_servers_and_tools():
    servers = [
        {"name": "a", "port": 8101, "health": {"expect_tools": ["x"]}},
        {"name": "b", "port": 8102, "replicas": 0},
        {"name": "c", "port": 8103, "replicas": 2},
    ]
    overlay = FILTERS["mcp_overlay_targets"](servers)
    gateway = FILTERS["mcp_gateway_targets"](servers, "h")
    assert [(t["name"], t["expect_tools"]) for t in overlay] == [
        (t["name"], t["expect_tools"]) for t in gateway
    ]


def test_overlay_targets_is_documented_with_its_parameters():
    doc = yaml.safe_load((DOCS / "mcp_overlay_targets.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == "mcp_overlay_targets"
    params = list(inspect.signature(FILTERS["mcp_overlay_targets"]).parameters)[1:]
    assert [o for o in doc["DOCUMENTATION"]["options"] if o != "_input"] == params
