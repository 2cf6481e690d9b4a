"""The swarm role on the lab (3 managers + 1 worker over SSH), after site.yml formed the swarm:
it matches the inventory, refuses a bad inventory before any change, rejoins a node that left,
follows an inventory change one node at a time, and keeps going when a manager is down.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import labkit as lk
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventory" / "lab"
INVENTORY = LAB_INVENTORY / "hosts.yml"
PLAYBOOK = ROOT / "playbooks" / "swarm.yml"

pytestmark = pytest.mark.skipif(not INVENTORY.is_file(), reason="no lab: run `make lab-up` first")


def docker(*args, timeout=60):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def groups():
    data = yaml.safe_load(INVENTORY.read_text())["all"]["children"]["lab_nodes"]["children"]
    return {g: dict(data[g].get("hosts") or {}) for g in ("managers", "workers")}


def inventory_with(name, managers, workers):
    """A copy of the lab inventory with other groups (under .cache so the key paths hold)."""
    target = ROOT / ".cache" / "inventories" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(LAB_INVENTORY / "group_vars", target / "group_vars")
    lab_vars = yaml.safe_load(INVENTORY.read_text())["all"]["vars"]
    data = {
        "all": {
            "vars": lab_vars,
            "children": {
                "lab_nodes": {
                    "children": {"managers": {"hosts": managers}, "workers": {"hosts": workers}},
                }
            },
        }
    }
    (target / "hosts.yml").write_text(yaml.safe_dump(data))
    return target


def run_swarm(inventory=LAB_INVENTORY, *extra):
    return lk.playbook(PLAYBOOK.name, *extra, timeout=600, inventory=inventory)


def nodes():
    out = docker(
        "exec",
        "lswarm-m1",
        "docker",
        "node",
        "ls",
        "--format",
        "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    return [(r[0], r[1], r[2] if len(r) > 2 else "") for r in rows]


def role(hostname):
    return docker(
        "exec", "lswarm-m1", "docker", "node", "inspect", hostname, "--format", "{{.Spec.Role}}"
    ).stdout.strip()


def labels(hostname):
    out = docker(
        "exec", "lswarm-m1", "docker", "node", "inspect", hostname, "--format", "{{json .Spec.Labels}}"
    )
    return json.loads(out.stdout)


def wait_until(predicate, limit=120, what="condition"):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out after {limit}s waiting for {what}")


def test_swarm_matches_the_inventory():
    g = groups()
    found = {name: (status, manager) for name, status, manager in nodes()}
    assert sorted(found) == sorted([*g["managers"], *g["workers"]])
    assert all(status == "Ready" for status, _m in found.values())
    assert sorted(n for n, (_s, m) in found.items() if m in ("Leader", "Reachable")) == sorted(g["managers"])
    # the inventory's own labels (the data node's mcp.data) on top of cloud and GPU facts
    for worker, host in g["workers"].items():
        own = {k: str(v) for k, v in ((host or {}).get("swarm_node_labels") or {}).items()}
        expected = {"cloud": "lab", **lk.gpu_labels(worker), **own}
        owned = ",".join(sorted(["cloud", "gpu.count", "gpu.model", *own]))
        assert labels(worker) == {**expected, "io.sophia.lambda_swarm.labels": owned}
    network = docker("exec", "lswarm-m1", "docker", "network", "inspect", "mcp",
                     "--format", "{{.Driver}} {{.Attachable}} {{json .Options}}").stdout.split(" ", 2)  # fmt: skip
    assert network[:2] == ["overlay", "true"]
    assert "encrypted" not in network[2]  # the lab kernel has no ESP crypto
    # each node has a public (ansible_host, default route) and a private address, as a Lambda
    # host has: the swarm runs on the private one (swarm_private_networks)
    lk.assert_swarm_on_private_addresses()


def test_even_managers_refused_before_any_change():
    g = groups()
    managers = dict(list(g["managers"].items())[:2])
    proc, recap = run_swarm(inventory_with("two-managers", managers, g["workers"]))
    assert proc.returncode == 2
    assert "Group 'managers' has 2 managers" in " ".join(proc.stdout.split())
    assert all(r.get("changed", 0) == 0 for r in recap.values())


def test_node_that_left_is_rejoined_with_its_labels():
    worker = next(iter(groups()["workers"]))
    assert docker("exec", worker, "docker", "swarm", "leave", "--force").returncode == 0
    # -vvv: the join (and the token read before it) must not print a join token
    proc, recap = run_swarm(LAB_INVENTORY, "-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "SWMTKN-" not in proc.stdout + proc.stderr, "a join token in the -vvv output"
    rows = [r for r in nodes() if r[0] == worker]
    assert rows == [(worker, "Ready", "")]  # rejoined, and the stale entry removed
    assert labels(worker)["gpu.count"] == lk.gpu_labels(worker)["gpu.count"]
    proc, recap = run_swarm()
    assert proc.returncode == 0 and all(r["changed"] == 0 for r in recap.values()), recap


def test_inventory_change_demotes_then_promotes_back():
    g = groups()
    names = list(g["managers"])
    last = names[-1]
    demoted = inventory_with(
        "demoted", {n: g["managers"][n] for n in names[:-1]}, {**g["workers"], last: g["managers"][last]}
    )
    proc, _recap = run_swarm(
        demoted, "-e", "preflight_allow_even_managers=true", "-e", "swarm_allow_even_managers=true"
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert role(last) == "worker"
    assert "demote " + last in proc.stdout
    proc, recap = run_swarm(
        demoted, "-e", "preflight_allow_even_managers=true", "-e", "swarm_allow_even_managers=true"
    )
    assert proc.returncode == 0 and all(r["changed"] == 0 for r in recap.values()), recap
    proc, _recap = run_swarm()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert role(last) == "manager"


def ssh_port_open(ip):
    probe = subprocess.run(
        ["bash", "-c", f"exec 3<>/dev/tcp/{ip}/22"], capture_output=True, timeout=5, check=False
    )
    return probe.returncode == 0


def wait_for_ssh(host, limit=120):
    addr = groups()["workers"].get(host) or groups()["managers"].get(host)
    wait_until(lambda: ssh_port_open(addr["ansible_host"]), limit, f"SSH on {host}")


def test_a_down_worker_dropped_from_the_inventory_is_removed_then_added_back():
    g = groups()
    workers = list(g["workers"])
    if len(workers) < 2:
        pytest.skip("needs a lab with two workers (make lab-test brings up 3 + 2)")
    gone = workers[-1]
    assert docker("stop", gone, timeout=120).returncode == 0
    try:
        wait_until(
            lambda: {n: st for n, st, _m in nodes()}.get(gone) == "Down", 60, f"the swarm to see {gone} down"
        )
        without = inventory_with("without-worker", g["managers"], {w: g["workers"][w] for w in workers[:-1]})
        proc, _recap = run_swarm(without)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert gone not in [n for n, _s, _m in nodes()]
        assert f"remove {gone}" in proc.stdout
        proc, recap = run_swarm(without)
        assert proc.returncode == 0 and all(r["changed"] == 0 for r in recap.values()), recap
    finally:
        assert docker("start", gone).returncode == 0
    wait_for_ssh(gone)
    proc, _recap = run_swarm()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [(n, s) for n, s, _m in nodes() if n == gone] == [(gone, "Ready")]
    assert labels(gone)["cloud"] == "lab"


def test_a_manager_down_keeps_quorum_and_is_reported():
    down = list(groups()["managers"])[-1]
    assert docker("stop", down, timeout=120).returncode == 0
    try:
        proc, recap = run_swarm()
        assert proc.returncode == 4  # Ansible's "some hosts were unreachable"
        assert recap[down]["unreachable"] == 1
        assert all(r["failed"] == 0 for h, r in recap.items() if h != down)
        assert f"{down}" in proc.stdout and "UNREACHABLE" in proc.stdout
        # the two other managers still hold quorum: the swarm answers and the node is not removed
        found = {n: (s, m) for n, s, m in nodes()}
        assert found[down][0] == "Down"
    finally:
        assert docker("start", down).returncode == 0
    wait_until(lambda: {n: s for n, s, _m in nodes()}.get(down) == "Ready", 180, f"{down} back in the swarm")
