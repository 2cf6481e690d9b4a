"""Version naming and the garbage-collection plan of the secrets role."""

import hashlib

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _secrets as s

KEY = "k" * 32


def test_same_content_same_version_other_content_other_version():
    assert s.version_of("hunter2", KEY) == s.version_of(b"hunter2", KEY.encode())
    assert s.version_of("hunter2", KEY) != s.version_of("hunter3", KEY)
    assert len(s.version_of("x", KEY)) == 12


def test_version_is_keyed_not_a_bare_hash():
    bare = hashlib.sha256(b"hunter2").hexdigest()[:12]
    assert s.version_of("hunter2", KEY) != bare
    assert s.version_of("hunter2", KEY) != s.version_of("hunter2", "another key")


def test_version_needs_a_key():
    with pytest.raises(ValueError, match="secrets_version_key"):
        s.version_of("x", "")


def test_newlines_and_unicode_are_content_like_any_other():
    assert s.version_of("a\nb\n", KEY) != s.version_of("a\nb", KEY)
    assert s.version_of("pässwörd ✓", KEY) == s.version_of("pässwörd ✓".encode(), KEY)


@pytest.mark.parametrize(
    ("name", "error"),
    [("db_password", None), ("db.pass-word", None), ("-x", "use letters"), ("a b", "use letters"),
     ("x" * 60, "too long")],
)  # fmt: skip
def test_versioned_name(name, error):
    if error:
        with pytest.raises(ValueError, match=error):
            s.versioned_name(name, "0123456789ab")
    else:
        assert s.versioned_name(name, "0123456789ab") == name + "_0123456789ab"


def v(base, version, created):
    return {"name": "%s_%s" % (base, version), "base": base, "created": created}


@pytest.mark.parametrize(
    ("existing", "in_use", "current", "keep", "removed"),
    [
        # three versions, keep 2: the oldest goes
        ([v("db", "a", 1), v("db", "b", 2), v("db", "c", 3)], set(), {"db": "db_c"}, 2, ["db_a"]),
        # ...unless a service still uses it
        ([v("db", "a", 1), v("db", "b", 2), v("db", "c", 3)], {"db_a"}, {"db": "db_c"}, 2, []),
        # the current version is kept even when it is not the newest (a rollback)
        ([v("db", "a", 1), v("db", "b", 2), v("db", "c", 3)], set(), {"db": "db_a"}, 2, ["db_b"]),
        # keep 1: only the current one stays
        ([v("db", "a", 1), v("db", "b", 2)], set(), {"db": "db_b"}, 1, ["db_a"]),
        # secrets are planned each on its own
        ([v("db", "a", 1), v("db", "b", 2), v("db", "c", 3), v("api", "x", 1)], set(), {"db": "db_c", "api": "api_x"}, 2,
         ["db_a"]),
    ],
    ids=["keep-two", "in-use-kept", "rollback-current", "keep-one", "per-secret"],
)  # fmt: skip
def test_gc_plan(existing, in_use, current, keep, removed):
    assert s.gc_plan(existing, in_use, current, keep) == removed


def test_gc_keeps_at_least_the_current_version():
    with pytest.raises(ValueError, match="at least 1"):
        s.gc_plan([], set(), {}, 0)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("db.password", "s3cret"), ("hosts[1]", "b"), ('tags["team.name"]', "ml"), ("", None)],
)
def test_value_at(path, expected):
    values = {"db": {"password": "s3cret"}, "hosts": ["a", "b"], "tags": {"team.name": "ml"}}
    assert s.value_at(values, path) == (values if expected is None else expected)


def test_value_at_names_the_missing_part():
    with pytest.raises(KeyError, match=r"no db\.user in the environment"):
        s.value_at({"db": {"password": "x"}}, "db.user")
