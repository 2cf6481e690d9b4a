"""plugins/filter/secrets.py: the filters as Ansible calls them (the logic's tables are in
tests/unit/plugins/module_utils/test__secrets.py)."""

import pytest
from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable
from ansible_collections.sophia.lambda_swarm.plugins.filter import secrets
from jinja2 import Undefined
from jinja2.exceptions import UndefinedError

FILTERS = secrets.FilterModule().filters()


class Raising(dict):
    """An entry whose value does not resolve, as Ansible's lazy templating reports it."""

    def __init__(self, error, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def __getitem__(self, key):
        if key == "value":
            raise self.error
        return super().__getitem__(key)


@pytest.mark.parametrize(
    ("entry", "has_value"),
    [
        ({"name": "a", "value": "x"}, True),
        ({"name": "a", "value": ""}, True),
        ({"name": "a", "source": "file", "path": "/k"}, False),
        ({"name": "a", "value": Undefined(name="vault_a")}, False),
        (Raising(UndefinedError("'vault_a' is undefined"), name="a", value="{{ vault_a }}"), False),
        (Raising(AnsibleUndefinedVariable("'vault_a' is undefined"), name="a", value="{{ vault_a }}"), False),
    ],
    ids=["value", "empty-value", "no-value", "undefined", "jinja-undefined-error", "ansible-undefined"],
)
def test_without_values_tells_a_value_that_does_not_resolve(entry, has_value):
    assert FILTERS["secrets_without_values"]([entry]) == [
        {**{k: v for k, v in dict(entry).items() if k != "value"}, "has_value": has_value}
    ]


def test_without_values_lets_other_errors_through():
    with pytest.raises(RuntimeError, match="lookup broke"):
        FILTERS["secrets_without_values"]([Raising(RuntimeError("lookup broke"), name="a", value="x")])


def test_refs_fail_as_a_filter_naming_the_secret():
    with pytest.raises(AnsibleFilterError, match="no version of 'db'"):
        FILTERS["secrets_refs"]([{"name": "db"}], {})
    assert FILTERS["secrets_refs"]([{"name": "db"}], {"db": "db_1"})[0]["versioned"] == "db_1"
