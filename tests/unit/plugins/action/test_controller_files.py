"""controller_files: the action plugin's writes on real files in tmp_path (check mode writes
nothing, a run writes, a second run reports nothing; a bad entry fails before any file is
written), then the plugin driven by ansible-playbook as a role uses it: run_once in a play,
check mode, diff with and without content, a secret hidden by no_log."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.action import controller_files as plugin
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _node_files as nf

ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_mode_then_a_run_then_nothing_to_do(tmp_path):
    files = [
        {"path": str(tmp_path / "a.yml"), "content": "a: 1\n", "mode": "0644"},
        {"path": str(tmp_path / "b.yml"), "content": "secret: x\n", "mode": "0600"},
    ]
    planned = plugin.write(files, check_mode=True)
    assert planned["changed"] and planned["changed_paths"] == [f["path"] for f in files]
    assert not list(tmp_path.iterdir())

    done = plugin.write(files)
    assert done["changed_paths"] == [f["path"] for f in files]
    assert [f["created"] for f in done["files"]] == [True, True]
    assert (tmp_path / "a.yml").read_text() == "a: 1\n" and mode_of(tmp_path / "a.yml") == 0o644
    assert mode_of(tmp_path / "b.yml") == 0o600

    again = plugin.write(files)
    assert not again["changed"] and again["changed_paths"] == []
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left


def test_content_and_mode_changes_each_count_and_a_mode_alone_keeps_the_content(tmp_path):
    path = tmp_path / "c.cfg"
    plugin.write([{"path": str(path), "content": "one\n", "mode": "0644"}])
    out = plugin.write([{"path": str(path), "content": "one\n", "mode": "0600"}], diff=True)
    assert out["changed_paths"] == [str(path)] and mode_of(path) == 0o600 and path.read_text() == "one\n"
    assert "0644" in str(out["diff"]) and "0600" in str(out["diff"])
    out = plugin.write([{"path": str(path), "content": "two\n"}], diff=True)
    assert path.read_text() == "two\n" and mode_of(path) == 0o600  # no mode given: kept
    assert out["diff"][0]["before"] == "one\n" and out["diff"][0]["after"] == "two\n"


def test_diff_without_content_names_the_file_only(tmp_path):
    path = tmp_path / "private.yml"
    out = plugin.write([{"path": str(path), "content": "token: s3cr3t\n", "mode": "0600"}], diff=True,
                       diff_content=False)  # fmt: skip
    assert str(path) in str(out["diff"]) and "s3cr3t" not in str(out["diff"])


def test_a_bad_entry_fails_before_anything_is_written(tmp_path):
    files = [
        {"path": str(tmp_path / "good.yml"), "content": "ok\n", "mode": "0644"},
        {"path": str(tmp_path / "sub") + "/", "content": "x\n"},
        {"path": str(tmp_path / "missing" / "c.yml"), "content": "x\n"},
        {"path": str(tmp_path / "d.yml"), "content": "x\n", "mode": "u=rw"},
    ]
    with pytest.raises(nf.NodeFilesError) as failed:
        plugin.write(files)
    text = str(failed.value)
    assert "files[1]" in text and "names a directory" in text
    assert "files[2]" in text and "does not exist" in text and "files[3]" in text
    assert not (tmp_path / "good.yml").exists()


def test_a_relative_path_is_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = plugin.write([{"path": "rel.txt", "content": "r\n"}])
    assert out["changed_paths"] == [str(tmp_path / "rel.txt")] and (tmp_path / "rel.txt").read_text() == "r\n"


def test_a_failed_write_names_the_file_and_those_written_before_it(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only directory")
    locked = tmp_path / "locked"
    locked.mkdir()
    files = [
        {"path": str(tmp_path / "first.yml"), "content": "1\n"},
        {"path": str(locked / "second.yml"), "content": "2\n"},
    ]
    locked.chmod(0o500)
    try:
        out = plugin.write(files)
    finally:
        locked.chmod(0o700)
    assert out["failed"] and out["changed"] and out["changed_paths"] == [files[0]["path"]]
    assert "files[1]" in out["msg"] and "written before it: %s" % files[0]["path"] in out["msg"]


PLAY = """\
- hosts: all
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Public files
      sophia.lambda_swarm.controller_files:
        files:
          - path: %(dir)s/config.yml
            content: "{{ 'scrape: ' ~ groups['all'] | length }}\\n"
            mode: "0644"
      run_once: true
    - name: Private file
      sophia.lambda_swarm.controller_files:
        files:
          - path: %(dir)s/private.yml
            content: "token: s3cr3t-{{ marker }}\\n"
            mode: "0600"
        diff_content: false
      run_once: true
      no_log: true
"""


def _play(tmp_path, *args, marker="1"):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % {"dir": tmp_path / "out"})
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}  # fmt: skip
    if (ROOT / ".collections").is_dir():
        env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "one,two,three,", str(playbook), "-e", "marker=" + marker, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counts = {}
    for host, recap in re.findall(r"^(\w+)\s*:\s*(ok=.*)$", proc.stdout, re.MULTILINE):
        counts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap)}
    return counts, proc.stdout


@pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not next to sys.executable")
def test_in_a_play_check_mode_run_rerun_and_the_secret_never_shown(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    counts, text = _play(tmp_path, "--check", "--diff")
    assert counts["one"]["changed"] == 2 and not list(out.iterdir())
    assert "+scrape: 3" in text and "s3cr3t" not in text

    counts, text = _play(tmp_path, "--diff", "-vvv")
    assert counts["one"]["changed"] == 2 and sum(c["changed"] for c in counts.values()) == 2
    assert (out / "config.yml").read_text() == "scrape: 3\n" and mode_of(out / "private.yml") == 0o600
    assert "s3cr3t" not in text

    counts, _text = _play(tmp_path)
    assert counts["one"]["changed"] == 0
    counts, text = _play(tmp_path, "--diff", marker="2")
    assert counts["one"]["changed"] == 1 and "s3cr3t" not in text
    assert (out / "private.yml").read_text() == "token: s3cr3t-2\n"


def test_directories_are_made_first_with_their_mode_then_fixed_then_left(tmp_path):
    state = tmp_path / "state" / "deep"
    files = [{"path": str(state / ".gitignore"), "content": "*\n", "mode": "0600"}]
    planned = plugin.write(
        files, check_mode=True, directories=[{"path": str(state), "mode": "0700"}], diff=True
    )
    assert planned["changed_paths"] == [str(state), str(state / ".gitignore")] and not state.exists()
    assert planned["diff"][0]["before"] == "absent\n" and planned["diff"][0]["after"] == "directory 0700\n"

    done = plugin.write(files, directories=[{"path": str(state), "mode": "0700"}])
    assert done["directories"] == [{"path": str(state), "changed": True, "created": True}]
    assert mode_of(state) == 0o700 and (state / ".gitignore").read_text() == "*\n"

    state.chmod(0o755)
    fixed = plugin.write(files, directories=[{"path": str(state), "mode": "0700"}])
    assert fixed["changed_paths"] == [str(state)] and mode_of(state) == 0o700
    assert not plugin.write(files, directories=[{"path": str(state), "mode": "0700"}])["changed"]
    assert not plugin.write([], directories=[{"path": str(state)}])["changed"]  # no mode: kept


def test_a_file_where_a_directory_is_wanted_fails_before_anything_is_made(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(nf.NodeFilesError) as failed:
        plugin.write(
            [{"path": str(tmp_path / "new.txt"), "content": "n\n"}],
            directories=[{"path": str(tmp_path / "fresh")}, {"path": str(tmp_path / "taken")}],
        )
    assert "directories[1]" in str(failed.value) and "is not a directory" in str(failed.value)
    assert not (tmp_path / "fresh").exists() and not (tmp_path / "new.txt").exists()


def test_a_file_below_a_directory_made_but_not_listed_fails_before_anything_is_made(tmp_path):
    listed = tmp_path / "a"
    with pytest.raises(nf.NodeFilesError) as failed:
        plugin.write(
            [{"path": str(listed / "b" / "f"), "content": "f\n"}], directories=[{"path": str(listed)}]
        )
    assert "files[0]" in str(failed.value) and "make it first (directories)" in str(failed.value)
    assert not listed.exists()


def test_paths_are_normalised_so_a_dot_dot_makes_no_directory_on_the_way(tmp_path):
    out = plugin.write([], directories=[{"path": str(tmp_path / "x" / ".." / "z"), "mode": "0700"}])
    assert out["changed_paths"] == [str(tmp_path / "z")]
    assert not (tmp_path / "x").exists() and mode_of(tmp_path / "z") == 0o700
