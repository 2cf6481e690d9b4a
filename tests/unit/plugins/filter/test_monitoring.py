"""plugins/filter/monitoring.py: the filters as Ansible calls them, and their documentation
(the logic's tables are in tests/unit/plugins/module_utils/test__monitoring.py)."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.filter import monitoring

FILTERS = monitoring.FilterModule().filters()


def test_config_names_take_query_results_and_fail_as_filter_errors():
    assert FILTERS["monitoring_config_names"]({"a": "a.yml"}, ("x",))["a"]["file"] == "a.yml"
    with pytest.raises(AnsibleFilterError, match="monitoring_config_names: 1 files but 0 contents"):
        FILTERS["monitoring_config_names"]({"a": "a.yml"}, [])
