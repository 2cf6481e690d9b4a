"""plugins/module_utils/_secrets.py: the secrets_list entries as the checks and the stack read
them (the versions and the removal plan are tested in tests/unit/plugins/test_secrets_logic.py)."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._secrets import (
    SecretsListError,
    stack_refs,
    without_values,
)


class Untouchable(dict):
    """An entry whose value may not be read: reading it fails the test."""

    def __getitem__(self, key):
        if key == "value":
            raise AssertionError("the value was read")
        return super().__getitem__(key)

    def get(self, key, default=None):
        if key == "value":
            raise AssertionError("the value was read")
        return super().get(key, default)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (None, []),
        ([], []),
        ([{"name": "a", "value": "s3cret"}], [{"name": "a", "has_value": True}]),
        ([{"name": "a", "source": "vault", "value": None}], [{"name": "a", "source": "vault", "has_value": True}]),
        ([{"name": "f", "source": "file", "path": "/k"}], [{"name": "f", "source": "file", "path": "/k", "has_value": False}]),
        (["not a mapping", None], [{"has_value": False}, {"has_value": False}]),
        ([{"name": "b"}, {"name": "a", "value": "x"}], [{"name": "b", "has_value": False}, {"name": "a", "has_value": True}]),
    ],
    ids=["none", "empty", "value", "null-value", "file", "not-mappings", "order-kept"],
)  # fmt: skip
def test_without_values(entries, expected):
    out = without_values(entries)
    assert out == expected
    assert all("value" not in item for item in out)


def test_without_values_never_reads_a_value_and_asks_the_caller_whether_it_resolves():
    entries = [Untouchable(name="a", value="{{ vault_a }}"), Untouchable(name="b", value="x")]
    asked = []

    def has_value(entry):
        asked.append(entry["name"])
        return entry["name"] == "b"

    assert without_values(entries, has_value) == [
        {"name": "a", "has_value": False},
        {"name": "b", "has_value": True},
    ]
    assert asked == ["a", "b"]


VERSIONS = {"db": "db_0123456789ab", "token": "token_ba9876543210"}


@pytest.mark.parametrize(
    ("entry", "previous", "expected"),
    [
        (
            {"name": "db", "value": "x"},
            None,
            {"name": "db", "versioned": "db_0123456789ab", "previous": "", "target": "db", "uid": "0",
             "gid": "0", "mode": "0400", "services": []},
        ),
        (
            {"name": "token", "source": "env", "env": "T", "target": "api_token", "uid": 10001, "gid": "10001",
             "mode": "0440", "services": ["signer"]},
            {"token": "token_000000000000"},
            {"name": "token", "versioned": "token_ba9876543210", "previous": "token_000000000000",
             "target": "api_token", "uid": "10001", "gid": "10001", "mode": "0440", "services": ["signer"]},
        ),
        (
            # YAML reads an unquoted 0400 as the number 256: passed on as its string, as before
            {"name": "db", "mode": 256},
            {"token": "token_000000000000"},
            {"name": "db", "versioned": "db_0123456789ab", "previous": "", "target": "db", "uid": "0",
             "gid": "0", "mode": "256", "services": []},
        ),
    ],
    ids=["defaults", "everything-given", "unquoted-mode"],
)  # fmt: skip
def test_stack_refs(entry, previous, expected):
    assert stack_refs([entry], VERSIONS, previous) == [expected]


def test_stack_refs_keep_the_order_and_never_read_a_value():
    entries = [Untouchable(name="token", value="t"), Untouchable(name="db", value="d")]
    assert [r["name"] for r in stack_refs(entries, VERSIONS)] == ["token", "db"]
    assert stack_refs(None, VERSIONS) == [] and stack_refs([], {}) == []


def test_stack_refs_name_a_secret_without_a_version():
    with pytest.raises(
        SecretsListError, match=r"no version of 'cache' among swarm_secrets' versions \(db, token\)"
    ):
        stack_refs([{"name": "db"}, {"name": "cache"}], VERSIONS)
