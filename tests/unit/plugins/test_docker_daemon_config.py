"""docker_daemon_config: the role's keys merged into daemon.json, every other key kept,
live-restore never left on, a broken file refused and never overwritten, dockerd's own
validation when it has one, and a file that already holds the settings left alone (no
write, no dockerd spawned)."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _docker_daemon_config as dc
from ansible_collections.sophia.lambda_swarm.plugins.modules import docker_daemon_config
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")


def run(args):
    with patch_module_args(args):
        docker_daemon_config.main()


def fake_dockerd(tmp_path, rejects=False):
    """A dockerd that knows --validate (Docker 23+), logs each call, and accepts or rejects."""
    log = tmp_path / "dockerd.calls"
    script = tmp_path / "dockerd"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$*" >> %s\n'
        'case "$1" in --help) echo "  --validate  Validate daemon configuration and exit";; '
        "--validate) %s;; esac\n" % (log, 'echo "unknown key: bogus" >&2; exit 1' if rejects else "exit 0")
    )
    script.chmod(0o755)
    return script, log


def test_merge_keeps_other_keys_removes_nulls_and_never_enables_live_restore():
    before = {
        "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}},
        "live-restore": True,
        "debug": True,
    }
    after = dc.merge(before, {"log-driver": "local", "debug": None}, ["ghost"])
    assert after == {"runtimes": before["runtimes"], "live-restore": False, "log-driver": "local"}
    assert dc.changed_keys(before, after) == ["debug", "live-restore", "log-driver"]
    assert dc.parse(dc.render(after)) == after and dc.parse("  \n") == {} and dc.parse(None) == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_a_file_that_is_not_a_json_object_is_refused_and_kept(tmp_path, text):
    path = tmp_path / "daemon.json"
    path.write_text(text)
    with pytest.raises(Fail) as refused:
        run({"path": str(path), "settings": {"log-driver": "local"}})
    assert str(path) in refused.value.args[0]["msg"]
    assert path.read_text() == text


def test_validated_by_dockerd_written_once_then_left_alone(tmp_path):
    dockerd, log = fake_dockerd(tmp_path)
    path = tmp_path / "etc" / "daemon.json"
    args = {"path": str(path), "settings": {"log-driver": "local"}, "dockerd": str(dockerd)}
    with pytest.raises(Exit) as first:
        run(args)
    out = first.value.args[0]
    assert out["changed"] and out["validated"] == "dockerd" and out["changed_keys"] == ["log-driver"]
    assert json.loads(path.read_text()) == {"log-driver": "local"}
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    calls = log.read_text().splitlines()
    assert calls[0] == "--help" and calls[1].startswith("--validate --config-file ")
    # the same settings again: nothing written, no dockerd spawned
    mtime = os.stat(path).st_mtime_ns
    with pytest.raises(Exit) as second:
        run(args)
    out = second.value.args[0]
    assert not out["changed"] and out["validated"] == "unchanged" and out["changed_keys"] == []
    assert os.stat(path).st_mtime_ns == mtime and log.read_text().splitlines() == calls


def test_dockerd_rejecting_the_merge_fails_and_writes_nothing(tmp_path):
    dockerd, _log = fake_dockerd(tmp_path, rejects=True)
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}\n')
    with pytest.raises(Fail) as refused:
        run({"path": str(path), "settings": {"bogus": 1}, "dockerd": str(dockerd)})
    assert "dockerd rejects the merged" in refused.value.args[0]["msg"]
    assert "unknown key: bogus" in refused.value.args[0]["msg"]
    assert path.read_text() == '{"debug": true}\n'


def test_check_mode_shows_the_diff_and_writes_nothing(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}\n')
    with pytest.raises(Exit) as checked:
        run({"path": str(path), "settings": {"debug": None}, "validate": False,
             "_ansible_check_mode": True, "_ansible_diff": True})  # fmt: skip
    out = checked.value.args[0]
    assert out["changed"] and out["validated"] == "json"
    assert out["diff"]["before"] == '{\n  "debug": true\n}\n' and out["diff"]["after"] == "{}\n"
    assert path.read_text() == '{"debug": true}\n'
