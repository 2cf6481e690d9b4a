"""The lab behaves like a set of cloud hosts: real SSH (OpenSSH and paramiko), systemd as
PID 1, one machine identity each, and the inventory groups users script against.

Needs a running lab (`make lab-up`); `make lab-test` runs it."""

import json
import subprocess
import sys
from pathlib import Path

import labkit as lk
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventory" / "lab" / "hosts.yml"

pytestmark = pytest.mark.skipif(not INVENTORY.is_file(), reason="no lab: run `make lab-up` first")


def _ansible(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "-i", str(INVENTORY.parent), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**lk.checkout_env(), **(env or {})},
        check=False,
    )


def _hosts() -> dict:
    groups = yaml.safe_load(INVENTORY.read_text())["all"]["children"]["lab_nodes"]["children"]
    return {group: list((groups[group].get("hosts") or {}).keys()) for group in ("managers", "workers")}


def _results(proc: subprocess.CompletedProcess) -> dict:
    """Per-host results of an ad-hoc run with the json callback."""
    data = json.loads(proc.stdout)
    return {host: res for task in data["plays"][0]["tasks"] for host, res in task["hosts"].items()}


JSON_OUT = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}


def test_inventory_has_the_groups_users_script_against():
    hosts = _hosts()
    assert len(hosts["managers"]) >= 1
    assert set(hosts["managers"]).isdisjoint(hosts["workers"])


@pytest.mark.parametrize("connection", ["ssh", "paramiko"])
def test_every_node_answers_over(connection):
    env = dict(JSON_OUT)
    if connection == "paramiko":
        # paramiko reads ~/.ssh/known_hosts only; the lab's host keys live in .lab/ssh.
        env["ANSIBLE_PARAMIKO_HOST_KEY_CHECKING"] = "false"
    proc = _ansible("lab_nodes", "-c", connection, "-m", "ansible.builtin.command", "-a", "id -un", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = _results(proc)
    expected = _hosts()["managers"] + _hosts()["workers"]
    assert sorted(results) == sorted(expected)
    # become is on in the lab inventory: ubuntu logs in, sudo makes it root
    assert {r["stdout"] for r in results.values()} == {"root"}


def test_nodes_are_systemd_hosts_with_their_own_identity():
    proc = _ansible(
        "lab_nodes",
        "-m",
        "ansible.builtin.shell",
        "-a",
        "echo $(cat /proc/1/comm) $(systemctl is-system-running) $(cat /etc/machine-id) $(hostname)",
        env=JSON_OUT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {host: r["stdout"].split() for host, r in _results(proc).items()}
    for host, (pid1, state, _machine_id, hostname) in rows.items():
        assert pid1 == "systemd", host
        assert state == "running", f"{host}: systemd is {state}"
        assert hostname == host
    assert len({row[2] for row in rows.values()}) == len(rows), "machine ids must differ"


def test_ssh_rejects_an_unknown_key():
    # Real SSH: a key the lab did not install is refused.
    host = _hosts()["managers"][0]
    addr = yaml.safe_load(INVENTORY.read_text())["all"]["children"]["lab_nodes"]["children"]["managers"][
        "hosts"
    ][host]["ansible_host"]
    key = ROOT / ".cache" / "stranger_key"
    key.unlink(missing_ok=True)
    key.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    proc = subprocess.run(
        [
            "ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=5", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={ROOT / '.lab' / 'ssh' / 'known_hosts'}",
            f"ubuntu@{addr}", "true",
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 255
    assert "Permission denied" in proc.stderr


def _addr(host: str) -> str:
    groups = yaml.safe_load(INVENTORY.read_text())["all"]["children"]["lab_nodes"]["children"]
    for group in groups.values():
        if host in (group.get("hosts") or {}):
            return group["hosts"][host]["ansible_host"]
    raise KeyError(host)


CONNECT = "import socket,sys; socket.create_connection((sys.argv[1], 2377), timeout=3).close(); print('open')"
LISTEN = (
    "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('0.0.0.0', 2377)); s.listen(8); s.settimeout(60); end=time.time()+60\n"
    "while time.time() < end:\n"
    "    try: s.accept()[0].close()\n"
    "    except OSError: break"
)


def _docker(*args, timeout=60):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_firewall_lets_peers_reach_the_swarm_port_and_nobody_else():
    """2377 answers the peers' private addresses (the swarm's) only: not a peer coming from
    its public address (ansible_host), not a stranger on the private network."""
    hosts = _hosts()
    manager, peer = hosts["managers"][0], (hosts["workers"] or hosts["managers"][1:])[0]
    if "active" not in _docker("exec", manager, "ufw", "status").stdout:
        pytest.skip("the host role's firewall is not on (run site.yml first)")
    private, public = lk.private_address(manager), _addr(manager)
    # something listens on the manager's 2377 (bounded: 60 s), whether or not a swarm runs
    _docker("exec", "-d", manager, "python3", "-c", LISTEN)
    lk.wait_for(
        lambda: "open" in _docker("exec", manager, "python3", "-c", CONNECT, "127.0.0.1").stdout,
        30,
        "the listener on 2377",
        interval=0.5,
    )
    from_peer = _docker("exec", peer, "python3", "-c", CONNECT, private)
    assert from_peer.stdout.strip() == "open", from_peer.stderr
    # the same peer through the public network: its public address is no swarm peer
    from_public = _docker("exec", peer, "python3", "-c", CONNECT, public)
    assert from_public.returncode != 0, "2377 answers on the public network"
    assert "timed out" in from_public.stderr or "TimeoutError" in from_public.stderr
    image = _docker("inspect", "-f", "{{.Config.Image}}", manager).stdout.strip()
    # a container on the private network that is not in the inventory
    stranger = _docker("run", "--rm", "--label", "io.sophia.lambda_swarm.lab=lswarm",
                       "--network", lk.network_of(private),
                       "--entrypoint", "python3", image, "-c", CONNECT, private)  # fmt: skip
    assert stranger.returncode != 0
    assert "timed out" in stranger.stderr or "TimeoutError" in stranger.stderr


def test_kernel_preflight_finds_what_this_kernel_lacks():
    proc = _ansible(
        "lab_nodes", "-m", "sophia.lambda_swarm.kernel_preflight", "-a", "profile=lab", env=JSON_OUT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host, result in _results(proc).items():
        facts = result["ansible_facts"]["kernel_preflight"]
        # ../shared/LAB.md: this kernel has no IPVS and no ESP crypto; VXLAN overlays work
        assert facts["missing"] == ["ipvs", "esp"], host
        assert facts["adaptations"]["endpoint_mode"] == "dnsrr"
        assert facts["adaptations"]["overlay_encrypted"] is False
    strict = _ansible("lab_nodes", "-m", "sophia.lambda_swarm.kernel_preflight", env=JSON_OUT)
    assert strict.returncode != 0
    message = next(iter(_results(strict).values()))["msg"]
    assert "ipvs is missing" in message and "routing mesh" in message and "Fix:" in message


def test_docker_runs_with_the_role_keys_on_every_node():
    proc = _ansible("lab_nodes", "-m", "ansible.builtin.command", "-a",
                    "docker info --format '{% raw %}{{.Driver}} {{len .GenericResources}}{% endraw %}'", env=JSON_OUT)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {h: r["stdout"] for h, r in _results(proc).items()}
    for host, row in rows.items():
        driver, resources = row.split()
        assert driver == "overlay2"
        # one generic resource per stand-in GPU lab/up.sh gave the node (none on the managers)
        gpus = lk.node_gpus(host)
        assert int(resources) == (len(gpus["uuids"]) if gpus else 0), host
