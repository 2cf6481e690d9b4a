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
     ("db_password\n", "use letters"), ("x" * 60, "too long")],
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


# --- plan(): what swarm_secrets does against the Engine API's lists ---------------------


def _secret(name, base, index):
    return {"Spec": {"Name": name, "Labels": {s.LABEL_NAME: base}}, "Version": {"Index": index}}


def _service(*names, previous=()):
    def spec(refs):
        return {"TaskTemplate": {"ContainerSpec": {"Secrets": [{"SecretName": n} for n in refs]}}}

    out = {"Spec": spec(names)}
    if previous:
        out["PreviousSpec"] = spec(previous)
    return out


def test_plan_creates_a_new_version_and_nothing_when_unchanged():
    desired = [{"name": "api", "value": "v1"}]
    first = s.plan(desired, [], KEY)
    full = first["versions"]["api"]
    assert first["create"] == [full] and first["remove"] == []
    again = s.plan(desired, [_secret(full, "api", 10)], KEY)
    assert again == {"versions": {"api": full}, "previous": {}, "create": [], "remove": []}


def test_plan_rotation_keeps_the_previous_version_then_drops_it():
    v1 = s.versioned_name("api", s.version_of("one", KEY))
    v2 = s.versioned_name("api", s.version_of("two", KEY))
    v3 = s.versioned_name("api", s.version_of("three", KEY))
    # rotation to two: one stays (rollback), even unused
    step = s.plan([{"name": "api", "value": "two"}], [_secret(v1, "api", 1)], KEY, services=[_service(v1)])
    assert step["create"] == [v2] and step["remove"] == []
    # rotation to three once the service moved to two: one goes, two stays for rollback
    existing = [_secret(v1, "api", 1), _secret(v2, "api", 2)]
    step = s.plan([{"name": "api", "value": "three"}], existing, KEY, services=[_service(v2, previous=[v1])])
    assert step["create"] == [v3]
    assert step["remove"] == []  # v1 is still the previous spec's: rollback needs it
    step = s.plan([{"name": "api", "value": "three"}], existing, KEY, services=[_service(v2)])
    assert step["remove"] == [v1]


def test_plan_names_the_newest_older_version_that_stays_as_previous():
    v1, v2, _v3 = (s.versioned_name("api", s.version_of(v, KEY)) for v in ("one", "two", "three"))
    # the rotation that makes three: two (newest older) is previous, one is beyond keep=2
    existing = [_secret(v1, "api", 1), _secret(v2, "api", 2)]
    step = s.plan([{"name": "api", "value": "three"}], existing, KEY, services=[_service(v2)])
    assert step["previous"] == {"api": v2} and step["remove"] == [v1]
    # a secret with no older version has none
    assert s.plan([{"name": "api", "value": "one"}], [_secret(v1, "api", 1)], KEY)["previous"] == {}


def test_plan_retire_removes_older_versions_but_not_one_a_current_spec_mounts():
    v1, v2, v3 = (s.versioned_name("api", s.version_of(v, KEY)) for v in ("one", "two", "three"))
    existing = [_secret(v1, "api", 1), _secret(v2, "api", 2), _secret(v3, "api", 3)]
    desired = [{"name": "api", "value": "three"}]
    # a previous spec (rollback) does not keep a retired version; a current spec does
    step = s.plan(desired, existing, KEY, services=[_service(v3, v2, previous=[v1])], retire=["api"])
    assert step["remove"] == [v1] and step["previous"] == {}
    step = s.plan(desired, existing, KEY, services=[_service(v3, previous=[v2])], retire=["api"])
    assert step["remove"] == sorted([v1, v2]) and step["previous"] == {}
    # other secrets keep their versions
    other = [_secret("b_1", "b", 4)]
    step = s.plan([*desired, {"name": "b", "value": "x"}], existing + other, KEY, retire=["api"])
    assert "b_1" not in step["remove"] and step["previous"] == {"b": "b_1"}


def test_plan_refuses_to_retire_an_undeclared_secret():
    with pytest.raises(ValueError, match="cannot retire nope: not among the declared secrets"):
        s.plan([{"name": "api", "value": "1"}], [], KEY, retire=["nope"])


def test_plan_never_removes_a_version_in_use_even_beyond_keep():
    versions = [s.versioned_name("api", s.version_of(str(i), KEY)) for i in range(4)]
    existing = [_secret(n, "api", i) for i, n in enumerate(versions)]
    step = s.plan([{"name": "api", "value": "3"}], existing, KEY, keep=1, services=[_service(versions[0])])
    assert step["remove"] == sorted(versions[1:3])


def test_plan_refuses_a_name_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        s.plan([{"name": "a", "value": "1"}, {"name": "a", "value": "2"}], [], KEY)


def test_plan_result_carries_no_value():
    step = s.plan([{"name": "api", "value": "s3cr3t-value"}], [], KEY)
    assert "s3cr3t-value" not in repr(step)


def test_secret_refs_reads_current_and_previous_specs():
    assert s.secret_refs([_service("a_1", previous=["a_0"]), {"Spec": {}}]) == {"a_1", "a_0"}
