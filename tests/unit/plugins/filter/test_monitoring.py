"""plugins/filter/monitoring.py: the filters as Ansible calls them, and their documentation
(the logic's tables are in tests/unit/plugins/module_utils/test__monitoring.py)."""

import inspect
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.filter import monitoring

FILTERS = monitoring.FilterModule().filters()
DOCS = Path(monitoring.__file__).resolve().parent


def test_config_names_take_query_results_and_fail_as_filter_errors():
    assert FILTERS["monitoring_config_names"]({"a": "a.yml"}, ("x",))["a"]["file"] == "a.yml"
    with pytest.raises(AnsibleFilterError, match="monitoring_config_names: 1 files but 0 contents"):
        FILTERS["monitoring_config_names"]({"a": "a.yml"}, [])


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_filter_is_documented_with_its_parameters(name):
    doc = yaml.safe_load((DOCS / ("%s.yml" % name)).read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    params = list(inspect.signature(FILTERS[name]).parameters)[1:]
    options = [o for o in doc["DOCUMENTATION"]["options"] if o != "_input"]
    assert options == params
    positional = doc["DOCUMENTATION"].get("positional")
    assert ([p.strip() for p in positional.split(",")] == params) if params else positional is None
