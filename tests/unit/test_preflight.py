"""Role `preflight` refuses inventories that cannot make a healthy swarm, with a message
that names the problem and the fix, and passes the sample inventories. It runs on the
controller only, so these tests run the real playbook against generated inventories."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "preflight.yml"


def _preflight(inventory: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        check=False,
    )


def _inventory(tmp_path: Path, managers: list[str], workers: list[str], address: bool = True) -> Path:
    def hosts(names):
        return {
            name: ({"ansible_host": f"192.0.2.{i + 1}"} if address else None) for i, name in enumerate(names)
        }

    data = {
        "all": {"children": {"managers": {"hosts": hosts(managers)}, "workers": {"hosts": hosts(workers)}}}
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sample_lambda_inventory_passes():
    proc = _preflight(ROOT / "inventory" / "lambda")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("managers", "workers", "address", "expected"),
    [
        ([], ["w1"], True, "'managers' is empty or missing"),
        (["m1", "m2"], [], True, "Group 'managers' has 2 managers"),
        (["m1", "m2", "m3"], ["m3"], True, "m3 listed in both 'managers' and 'workers'"),
        (["m1"], ["w1"], False, "No ansible_host for m1, w1"),
    ],
    ids=["no-manager", "even-managers", "host-in-both-groups", "no-address"],
)
def test_bad_inventory_is_refused_with_the_fix(tmp_path, managers, workers, address, expected):
    proc = _preflight(_inventory(tmp_path, managers, workers, address))
    assert proc.returncode != 0
    assert expected in " ".join(proc.stdout.split())


def test_even_managers_allowed_when_asked(tmp_path):
    proc = _preflight(_inventory(tmp_path, ["m1", "m2"], []), "-e", "preflight_allow_even_managers=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
