"""_node_files: mode parsing, the per-file plan (write, attributes, created), the diffs and
the atomic write, on real files in tmp_path."""

import os

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _node_files as nf


@pytest.mark.parametrize(
    "value, mode",
    [(None, None), ("0644", 0o644), ("644", 0o644), ("00600", 0o600), ("0o750", 0o750), (" 0755 ", 0o755),
     ("4755", 0o4755), (0o644, 0o644), (420, 0o644), (0, 0)],
)  # fmt: skip
def test_parse_mode(value, mode):
    assert nf.parse_mode(value) == mode


@pytest.mark.parametrize(
    "value", ["u=rw,go=r", "a+x", "rw-r--r--", "0998", "", "0x1a4", True, 0o10000, -1, 1.5]
)
def test_parse_mode_refuses(value):
    with pytest.raises(ValueError):
        nf.parse_mode(value)


def test_resolve_id():
    assert nf.resolve_id(None, "owner") is None
    assert nf.resolve_id("1234", "group") == 1234
    assert nf.resolve_id("root", "owner") == 0 and nf.resolve_id("root", "group") == 0
    with pytest.raises(ValueError, match="no such user"):
        nf.resolve_id("no-such-user-here", "owner")


def plan_one(path, **spec):
    return nf.plan([{"path": str(path), **spec}], read_before=True)[0]


def test_plan_verdicts(tmp_path):
    path = tmp_path / "f"
    created = plan_one(path, content="x", mode="0600")
    assert (created["created"], created["write"], created["changed"], created["mode"]) == (
        True,
        True,
        True,
        0o600,
    )
    path.write_text("x")
    path.chmod(0o644)
    same = plan_one(path, content="x", mode="0644", owner=str(os.getuid()), group=str(os.getgid()))
    assert (same["write"], same["attrs"], same["changed"]) == (False, {}, False)
    assert plan_one(path, content="y")["write"] is True  # same size, other bytes
    assert plan_one(path, content="xx")["write"] is True  # other size
    moded = plan_one(path, content="x", mode="0600")
    assert (moded["write"], moded["attrs"], moded["changed"]) == (False, {"mode": [0o644, 0o600]}, True)
    # what a rewrite keeps where nothing is asked
    kept = plan_one(path, content="y")
    assert (kept["mode"], kept["uid"], kept["keep_uid"]) == (0o644, None, os.getuid())


def test_plan_reads_no_text_for_diff_beyond_the_limit(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"a" * (nf.DIFF_LIMIT + 1))
    item = plan_one(path, content="small")
    assert item["write"] and item["before"] is None
    assert nf.diffs([item]) == [
        {"before_header": str(path), "after_header": str(path), "dst_larger": nf.DIFF_LIMIT}
    ]


def test_diff_of_a_binary_file_has_no_text(tmp_path):
    path = tmp_path / "bin"
    path.write_bytes(b"\xff\xfe")
    assert nf.diffs([plan_one(path, content="text")])[0]["dst_binary"] == 1


def test_diffs_without_content_name_the_file(tmp_path):
    path = tmp_path / "secret"
    item = nf.plan([{"path": str(path), "content": "s3cret"}])[0]
    (entry,) = nf.diffs([item], content=False)
    assert entry["prepared"] == "%s: content created, not shown (diff_content is false)\n" % path
    assert "s3cret" not in repr(entry)


def test_results_keep_the_order_given(tmp_path):
    (tmp_path / "b").write_text("same")
    plans = nf.plan(
        [{"path": str(tmp_path / p), "content": c} for p, c in (("c", "new"), ("b", "same"), ("a", "new"))]
    )
    assert nf.results(plans) == {
        "changed": True,
        "changed_paths": [str(tmp_path / "c"), str(tmp_path / "a")],
        "files": [
            {"path": str(tmp_path / "c"), "changed": True, "created": True},
            {"path": str(tmp_path / "b"), "changed": False, "created": False},
            {"path": str(tmp_path / "a"), "changed": True, "created": True},
        ],
    }


def test_plan_names_every_bad_entry_and_a_file_given_twice_through_a_link(tmp_path):
    (tmp_path / "real").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(nf.NodeFilesError) as bad:
        nf.plan(
            [
                {"path": str(tmp_path / "real"), "content": "a"},
                {"path": str(tmp_path / "link"), "content": "b"},
                {"path": str(tmp_path) + "/dir/", "content": "c"},
                {"path": str(tmp_path / "x"), "content": "\udcff"},
            ]
        )
    msg = str(bad.value)
    assert msg.startswith("nothing written: ")
    assert "files[1] (%s): names the same file" % (tmp_path / "link") in msg
    assert "files[2]" in msg and "names a directory" in msg
    assert "files[3]" in msg and "UTF-8" in msg
    assert msg.index("files[1]") < msg.index("files[2]") < msg.index("files[3]")  # in entry order


def test_write_atomic_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "f"
    path.write_text("old")
    nf.write_atomic(str(path), b"new", 0o640)
    assert path.read_bytes() == b"new" and os.stat(path).st_mode & 0o7777 == 0o640
    assert os.listdir(tmp_path) == ["f"]


def test_write_atomic_removes_its_temporary_file_on_failure(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("")
    with pytest.raises(OSError):
        nf.write_atomic(str(target), b"x", 0o644)  # a rename cannot replace a directory
    assert sorted(os.listdir(tmp_path)) == ["taken"]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_write_atomic_sets_owner_before_mode_so_setuid_stays(tmp_path):
    path = tmp_path / "tool"
    nf.write_atomic(str(path), b"#!/bin/sh\n", 0o4750, uid=65534, gid=65534)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (65534, 65534, 0o4750)
