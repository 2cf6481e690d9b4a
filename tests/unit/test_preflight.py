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


def test_sample_lambda_inventory_names_every_value_it_lacks():
    proc = _preflight(ROOT / "inventory" / "lambda")
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    vault = str(ROOT / "inventory" / "lambda" / "group_vars" / "all" / "vault.yml")
    assert "4 problem(s) before any host changes" in out, out[-2000:]
    assert (
        "secrets_list[0] (warehouse_password) value needs vault_warehouse_password, which is not defined"
        in out
    )
    assert "secrets_version_key needs vault_secrets_version_key" in out and vault in out
    assert "stack_gateway_tls_cert names %s/inventory/lambda/certs/gateway.crt" % ROOT in out


def test_sample_lambda_inventory_passes_once_its_values_exist(tmp_path):
    cert = tmp_path / "gateway.crt"
    cert.write_text("x")
    proc = _preflight(
        ROOT / "inventory" / "lambda",
        "-e", "vault_warehouse_password=pw", "-e", "vault_secrets_version_key=%s" % ("k" * 32),
        "-e", f"stack_gateway_tls_cert={cert}", "-e", f"stack_gateway_tls_key={cert}",
        "-e", "preflight_project_dir=", "-e", f"lambda_swarm_state_dir={tmp_path / 'state'}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "state" / ".gitignore").read_text().strip().endswith("*")
    assert oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        ({"gpu_1": "192.0.2.1"}, "host 'gpu_1': not a valid host name"),
        (
            {"m1": "192.0.2.1", "m2": "192.0.2.1", "m3": "192.0.2.3"},
            "host m2: ansible_host 192.0.2.1 is also m1's",
        ),
        (
            {"m1": "no such host.invalid"},
            "ansible_host 'no such host.invalid' is neither an IP address nor a name",
        ),
        (
            {"m1": "{{ undefined_public_ip }}"},
            "host m1: ansible_host needs undefined_public_ip, which is not defined",
        ),
    ],
    ids=["bad-name", "same-address", "unresolvable", "undefined"],
)
def test_hosts_are_proven_before_any_change(tmp_path, hosts, expected):
    data = {"all": {"children": {"managers": {"hosts": {n: {"ansible_host": a} for n, a in hosts.items()}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    proc = _preflight(path, "-e", "preflight_allow_even_managers=true")
    assert proc.returncode != 0
    assert expected in " ".join(proc.stdout.split()), proc.stdout[-2000:]


@pytest.mark.parametrize(
    ("managers", "workers", "address", "expected"),
    [
        ([], ["w1"], True, "'managers' is empty or missing"),
        (["m1", "m2"], [], True, "Group 'managers' has 2 managers"),
        (["m1", "m2", "m3"], ["m3"], True, "m3 listed in both 'managers' and 'workers'"),
        (["m1"], ["w1"], False, "host m1: ansible_host is not set"),
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
