"""Every filter of the collection has its documentation beside it (plugins/filter/<name>.yml,
what ansible-doc -t filter shows), naming the filter and each of its parameters, in order."""

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[4]
DOCS = ROOT / "plugins" / "filter"


def _filters():
    out = {}
    for path in sorted(DOCS.glob("*.py")):
        module = importlib.import_module(
            "ansible_collections.sophia.lambda_swarm.plugins.filter." + path.stem
        )
        out.update(module.FilterModule().filters())
    return out


FILTERS = _filters()


def test_the_filters_are_found():
    assert {"swarm_address", "mcp_registry", "swarm_node_update", "secrets_refs"} <= set(FILTERS)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_filter_is_documented_with_its_parameters(name):
    doc = yaml.safe_load((DOCS / ("%s.yml" % name)).read_text(encoding="utf-8"))
    assert doc["DOCUMENTATION"]["name"] == name
    params = list(inspect.signature(FILTERS[name]).parameters)[1:]
    options = [o for o in doc["DOCUMENTATION"].get("options") or {} if o != "_input"]
    assert options == params
    positional = doc["DOCUMENTATION"].get("positional")
    assert ([p.strip() for p in positional.split(",")] == params) if params else positional is None
