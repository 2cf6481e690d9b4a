"""node_files: the module driven through its argument spec on real files in tmp_path. Each
write shows three ways (check mode reports it and writes nothing, the run makes it, a second
run reports none); a bad entry fails before any file is written."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.modules import node_files
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def run(files, check=False, diff=False, **options):
    args = {"files": files, "_ansible_check_mode": check, "_ansible_diff": diff, **options}
    with pytest.raises(Exit) as done, patch_module_args(args):
        node_files.main()
    return done.value.args[0]


def refused(files, **options):
    with pytest.raises(Fail) as failed, patch_module_args({"files": files, **options}):
        node_files.main()
    return failed.value.args[0]


def mode_of(path):
    return os.stat(path).st_mode & 0o7777


def listing(folder):
    return sorted(os.listdir(folder))


def test_create_then_unchanged_then_content_change(tmp_path):
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    files = [
        {"path": str(a), "content": "overlay\nbr_netfilter\n", "mode": "0640"},
        {"path": str(b), "content": "no final newline", "mode": 0o600},
    ]
    preview = run(files, check=True)
    assert preview["changed"] and preview["changed_paths"] == [str(a), str(b)]
    assert listing(tmp_path) == []  # check mode wrote nothing

    first = run(files)
    assert first["changed_paths"] == [str(a), str(b)]
    assert first["files"] == [
        {"path": str(a), "changed": True, "created": True},
        {"path": str(b), "changed": True, "created": True},
    ]
    assert a.read_bytes() == b"overlay\nbr_netfilter\n" and b.read_bytes() == b"no final newline"
    assert mode_of(a) == 0o640 and mode_of(b) == 0o600
    assert listing(tmp_path) == ["a.conf", "b.conf"]  # no temporary file left

    inode, mtime = os.stat(a).st_ino, os.stat(a).st_mtime_ns
    again = run(files)
    assert again["changed"] is False and again["changed_paths"] == []
    assert [f["changed"] for f in again["files"]] == [False, False]
    assert (os.stat(a).st_ino, os.stat(a).st_mtime_ns) == (inode, mtime)

    files[0]["content"] = "overlay\n"
    assert run(files, check=True)["changed_paths"] == [str(a)]
    assert a.read_text() == "overlay\nbr_netfilter\n"  # check mode left it
    changed = run(files)
    assert changed["changed_paths"] == [str(a)]
    assert changed["files"][0] == {"path": str(a), "changed": True, "created": False}
    assert a.read_text() == "overlay\n" and mode_of(a) == 0o640
    assert os.stat(a).st_ino != inode  # replaced by a rename, never written in place
    assert run(files)["changed"] is False


def test_utf8_content_is_written_as_given(tmp_path):
    path = tmp_path / "motd"
    run([{"path": str(path), "content": "Grüße ✓\r\n"}])
    assert path.read_bytes() == "Grüße ✓\r\n".encode()
    assert run([{"path": str(path), "content": "Grüße ✓\r\n"}])["changed"] is False


def test_a_rewritten_file_keeps_its_mode_when_none_is_asked(tmp_path):
    path = tmp_path / "token"
    path.write_text("old")
    path.chmod(0o600)
    run([{"path": str(path), "content": "new"}])
    assert path.read_text() == "new" and mode_of(path) == 0o600


def test_a_new_file_without_mode_gets_0666_less_the_umask(tmp_path):
    path = tmp_path / "new"
    umask = os.umask(0o027)
    try:
        run([{"path": str(path), "content": "x"}])
    finally:
        os.umask(umask)
    assert mode_of(path) == 0o640


def test_mode_only_change_fixes_the_mode_without_rewriting(tmp_path):
    path = tmp_path / "modules.conf"
    path.write_text("overlay\n")
    path.chmod(0o600)
    inode = os.stat(path).st_ino
    files = [{"path": str(path), "content": "overlay\n", "mode": "0644"}]

    preview = run(files, check=True, diff=True)
    assert preview["changed_paths"] == [str(path)] and mode_of(path) == 0o600
    assert preview["diff"] == [
        {
            "before_header": "%s (attributes)" % path,
            "after_header": "%s (attributes)" % path,
            "before": "mode: 0600\n",
            "after": "mode: 0644\n",
        }
    ]
    result = run(files)
    assert result["files"] == [{"path": str(path), "changed": True, "created": False}]
    assert mode_of(path) == 0o644 and os.stat(path).st_ino == inode
    assert run(files)["changed"] is False


@as_root
def test_owner_and_group_are_set_on_a_written_file_and_fixed_on_a_right_one(tmp_path):
    written, right = tmp_path / "written", tmp_path / "right"
    right.write_text("same")
    files = [
        {"path": str(written), "content": "new", "owner": "65534", "group": "65534", "mode": "0640"},
        {"path": str(right), "content": "same", "owner": "65534"},
    ]
    assert run(files)["changed_paths"] == [str(written), str(right)]
    assert (os.stat(written).st_uid, os.stat(written).st_gid, mode_of(written)) == (65534, 65534, 0o640)
    assert (os.stat(right).st_uid, os.stat(right).st_gid) == (65534, 0)
    assert run(files)["changed"] is False
    # a rewrite keeps the owner it is not told to change
    run([{"path": str(right), "content": "other"}])
    assert os.stat(right).st_uid == 65534


def test_a_link_is_written_through(tmp_path):
    real = tmp_path / "real.conf"
    real.write_text("old\n")
    link = tmp_path / "link.conf"
    link.symlink_to(real)
    result = run([{"path": str(link), "content": "new\n"}])
    assert result["changed_paths"] == [str(link)]
    assert link.is_symlink() and real.read_text() == "new\n"
    assert run([{"path": str(link), "content": "new\n"}])["changed"] is False


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"path": "etc/relative.conf", "content": "x"}, ["files[1]", "etc/relative.conf", "absolute"]),
        ({"path": "/tmp/x", "content": "x", "mode": "u=rw,go=r"}, ["files[1]", "/tmp/x", "symbolic"]),
        ({"path": "/tmp/x", "content": "x", "mode": "0999"}, ["files[1]", "octal"]),
        ({"path": "/tmp/x", "content": "x", "mode": "010000"}, ["files[1]", "out of range"]),
        ({"path": "/tmp/x", "content": "x", "owner": "no-such-user-here"}, ["files[1]", "no-such-user-here"]),
        (
            {"path": "/tmp/x", "content": "x", "group": "no-such-group-here"},
            ["files[1]", "no-such-group-here"],
        ),
    ],
)
def test_an_invalid_entry_fails_before_any_write(tmp_path, bad, words):
    good = tmp_path / "good.conf"
    result = refused([{"path": str(good), "content": "x"}, bad])
    for word in words:
        assert word in result["msg"]
    assert not good.exists()


def test_every_bad_entry_is_named(tmp_path):
    msg = refused(
        [
            {"path": "relative", "content": "x"},
            {"path": str(tmp_path / "ok"), "content": "x"},
            {"path": str(tmp_path / "m"), "content": "x", "mode": "a+r"},
        ]
    )["msg"]
    assert "files[0] (relative)" in msg and "files[2] (%s)" % (tmp_path / "m") in msg
    assert "files[1]" not in msg and listing(tmp_path) == []


def test_missing_parent_directory_fails_and_is_not_created(tmp_path):
    good, orphan = tmp_path / "good.conf", tmp_path / "missing" / "x.conf"
    msg = refused([{"path": str(good), "content": "x"}, {"path": str(orphan), "content": "x"}])["msg"]
    assert "files[1] (%s)" % orphan in msg and "create the directory first" in msg
    assert listing(tmp_path) == []


def test_check_mode_counts_a_file_in_a_missing_directory_as_one_to_create(tmp_path):
    # the task that would make the directory did not run in check mode either
    orphan = tmp_path / "new" / "a.conf"
    result = run([{"path": str(orphan), "content": "x", "mode": "0644"}], check=True)
    assert result["changed"] and result["changed_paths"] == [str(orphan)]
    assert result["files"] == [{"path": str(orphan), "changed": True, "created": True}]
    assert not (tmp_path / "new").exists()


def test_a_directory_at_the_path_fails(tmp_path):
    (tmp_path / "conf.d").mkdir()
    msg = refused([{"path": str(tmp_path / "conf.d"), "content": "x"}])["msg"]
    assert "files[0]" in msg and "is a directory" in msg


def test_a_dangling_link_fails(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    msg = refused([{"path": str(link), "content": "x"}])["msg"]
    assert "does not exist" in msg and not (tmp_path / "gone").exists()


def test_the_same_file_twice_fails(tmp_path):
    path = tmp_path / "a"
    msg = refused([{"path": str(path), "content": "x"}, {"path": str(tmp_path / "." / "a"), "content": "y"}])[
        "msg"
    ]
    assert "files[1]" in msg and "files[0]" in msg and not path.exists()


def test_diff_shows_before_and_after(tmp_path):
    old, new = tmp_path / "old.conf", tmp_path / "new.conf"
    old.write_text("a\n")
    result = run(
        [{"path": str(old), "content": "b\n"}, {"path": str(new), "content": "c\n"}], check=True, diff=True
    )
    assert result["diff"] == [
        {"before_header": str(old), "after_header": str(old), "before": "a\n", "after": "b\n"},
        {"before_header": "%s (absent)" % new, "after_header": str(new), "before": "", "after": "c\n"},
    ]


def test_diff_content_false_names_the_file_and_carries_no_content(tmp_path):
    path = tmp_path / "registry.token"
    path.write_text("old-secret-value")
    files = [{"path": str(path), "content": "new-secret-value", "mode": "0600"}]
    for check in (True, False):
        result = run(files, check=check, diff=True, diff_content=False)
        text = json.dumps(result)
        assert "secret-value" not in text
        assert str(path) in result["diff"][0]["prepared"]
        assert "before" not in result["diff"][0] and "after" not in result["diff"][0]
    assert path.read_text() == "new-secret-value"


def test_results_never_carry_content(tmp_path):
    path = tmp_path / "x"
    result = run([{"path": str(path), "content": "the-content"}])
    assert "the-content" not in json.dumps(result) and "diff" not in result
