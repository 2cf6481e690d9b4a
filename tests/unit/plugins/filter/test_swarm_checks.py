"""plugins/filter/swarm_checks.py: the filter as Ansible calls it (the logic's table is in
tests/unit/plugins/module_utils/test__swarm_checks.py)."""

import inspect
from pathlib import Path

import pytest
import yaml
from ansible_collections.sophia.lambda_swarm.plugins.filter import swarm_checks

FILTERS = swarm_checks.FilterModule().filters()
DOCS = Path(swarm_checks.__file__).resolve().parent


def test_problems_of_the_hosts_asked_about():
    hostvars = {
        "m1": {"_swarm_addr": "10.0.0.1", "_swarm_node_name": "m1"},
        "w1": {"_swarm_addr": "", "_swarm_node_name": "w1"},
    }
    assert FILTERS["swarm_node_problems"](hostvars, ["m1"]) == []
    assert FILTERS["swarm_node_problems"](hostvars, None) == []
    assert FILTERS["swarm_node_problems"](hostvars, ["m1", "w1"]) == [
        "No advertise address for w1: set swarm_advertise_addr or swarm_advertise_interface for them."
    ]


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_filter_is_documented_with_its_arguments(name):
    doc = yaml.safe_load((DOCS / ("%s.yml" % name)).read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    params = list(inspect.signature(FILTERS[name]).parameters)[1:]
    assert [o for o in doc["DOCUMENTATION"]["options"] if o != "_input"] == params
    assert [p.strip() for p in doc["DOCUMENTATION"]["positional"].split(",")] == params
