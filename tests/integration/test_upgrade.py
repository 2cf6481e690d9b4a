"""playbooks/upgrade.yml on the lab: one node at a time (a worker, then a manager), each
drained, upgraded, rebooted, waited for, activated and health-checked, while a load client
calls text_tools through the gateway and a watcher asks the first manager for the node list
(quorum) every two seconds; then a failing upgrade stops at its first node, leaves that node
drained and the next one untouched.

A lab node reboots for real as far as its userland goes: `reboot` ends the node container's
systemd and the restart policy boots it again (same kernel; the playbook compares PID 1's
start time, not the boot id). Needs a running lab on which site.yml ran."""

import threading
import time

import labkit as lk
import pytest

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab` first")


def pick():
    """(a worker that holds no pinned volume, the last manager): the nodes the tests upgrade."""
    hosts = lk.hosts()
    worker = next(
        n
        for n, h in hosts.items()
        if h["group"] == "workers" and (h.get("swarm_node_labels") or {}).get("mcp.data") != "true"
    )
    manager = [n for n, h in hosts.items() if h["group"] == "managers"][-1]
    return worker, manager


def node_row(node):
    """(status, availability, manager status) of node as the first manager lists it."""
    fmt = "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}"
    out = lk.on_node(lk.first_manager(), "node", "ls", "--format", fmt).stdout
    for line in out.splitlines():
        name, *rest = line.split("|")
        if name == node:
            return tuple(rest)
    return None


def booted_at(node):
    return lk.docker("inspect", "-f", "{{.State.StartedAt}}", node).stdout.strip()


class QuorumWatch(threading.Thread):
    """Asks the first manager for the node list every 2 s (bounded); counts refusals."""

    def __init__(self, max_seconds=900):
        super().__init__(daemon=True)
        self.stopping, self.max_seconds = threading.Event(), max_seconds
        self.asked, self.refused = 0, []

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self.stopping.is_set() and time.monotonic() < deadline:
            out = lk.on_node(lk.first_manager(), "node", "ls", "-q", timeout=30)
            self.asked += 1
            if out.returncode != 0:
                self.refused.append(out.stderr.strip())
            self.stopping.wait(2)

    def stop(self):
        self.stopping.set()
        self.join(timeout=40)
        return self


def test_rolling_upgrade_with_reboots_keeps_quorum_and_serves_every_call():
    worker, manager = pick()
    before = {n: booted_at(n) for n in (worker, manager)}
    load = lk.Load("text_tools", "word_count", {"text": "a b c"}, workers=1, max_seconds=900)
    watch = QuorumWatch()
    load.start()
    watch.start()
    started = time.monotonic()
    try:
        proc, recap = lk.playbook("upgrade.yml", "-l", f"{worker},{manager}", "-e", "upgrade_reboot=always")
    finally:
        load.stop()
        watch.stop()
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(r["failed"] == 0 for r in recap.values()), recap
    # one node at a time, the worker first
    assert proc.stdout.index(f"upgraded {worker}") < proc.stdout.index(f"upgraded {manager}")
    # the report's summary line ("upgraded NODE: ..., rebooted"), as the YAML callback may fold it
    assert " ".join(proc.stdout.split()).count(", rebooted") == 2, proc.stdout[-4000:]
    for node in (worker, manager):
        assert booted_at(node) != before[node], f"{node} did not reboot"
    assert node_row(worker)[:2] == ("Ready", "Active")
    assert node_row(manager)[:2] == ("Ready", "Active") and node_row(manager)[2] in ("Reachable", "Leader")
    assert watch.asked > 10 and watch.refused == [], watch.refused[:3]
    lk.report_case(
        "rolling upgrade with reboots (a worker, then a manager)",
        recovered=True,
        seconds=seconds,
        calls=load.calls,
        calls_failed=len(load.failures),
        data_lost=False,
        quorum_checks=watch.asked,
        quorum_refused=len(watch.refused),
    )
    assert load.calls > 50 and load.failures == [], load.failures[:5]


def test_a_failing_upgrade_stops_at_its_first_node_and_leaves_it_drained():
    worker, manager = pick()
    manager_booted = booted_at(manager)
    proc, _ = lk.playbook(
        "upgrade.yml", "-l", f"{worker},{manager}", "-e", '{"upgrade_packages": ["lswarm-no-such-package"]}'
    )
    try:
        assert proc.returncode != 0
        assert f"upgrade.yml stopped at {worker}" in proc.stdout, proc.stdout[-3000:]
        assert f"undrain.yml -l {worker}" in proc.stdout
        assert node_row(worker)[1] == "Drain"
        # the next node was not touched, and the stack still answers
        assert node_row(manager)[:2] == ("Ready", "Active") and node_row(manager)[2] in (
            "Reachable",
            "Leader",
        )
        assert booted_at(manager) == manager_booted
        assert f"upgraded {manager}" not in proc.stdout
        assert lk.tool_text("text_tools", "word_count", {"text": "still up"}) == "2"
    finally:
        undrain, _ = lk.playbook("undrain.yml", "-l", worker)
    assert undrain.returncode == 0, undrain.stdout[-3000:]
    assert node_row(worker)[:2] == ("Ready", "Active")
