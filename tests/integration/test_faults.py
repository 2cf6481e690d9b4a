"""Fault suite (issue 9, first cases) on the lab after site.yml: a fault is made on a node,
`playbooks/remediate.yml -l NODE` repairs it, and each case writes one line to
artifacts/fault-report.json: case, recovered, seconds to recover, calls failed (a bounded load
client calls text_tools through the gateway during the case), data lost (a note stored in
ai_memory before the fault is recalled after).

Not yet here (see the issue): a stopped manager, two of three managers lost and
recover_quorum.yml, the rolling upgrade. The rolling update under load is in test_stack.py.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import json
import time
import uuid

import labkit as lk
import pytest

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab` first")

REPORT = lk.ROOT / "artifacts" / "fault-report.json"
RECOVERY_LIMIT = 300  # seconds: the bar


def worker():
    return next(n for n, h in lk.hosts().items() if h["group"] == "workers")


def node_ready(node):
    out = lk.on_node(lk.first_manager(), "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
    return f"{node} Ready" in out.stdout.splitlines() and out.stdout.count(f"{node} ") == 1


def record(case, started, load, recovered, data_lost):
    line = {
        "case": case,
        "recovered": "yes" if recovered else "no",
        "seconds_to_recover": round(time.monotonic() - started, 1),
        "calls": load.calls,
        "calls_failed": len(load.failures),
        "data_lost": data_lost,
    }
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return line


def fault_case(case, node, make_fault, *extra):
    """Store a note, start the load, make the fault, remediate, check; returns the report line."""
    key = f"fault-{uuid.uuid4().hex[:8]}"
    lk.wait_for(
        lambda: lk.tool_text("ai_memory", "remember", {"key": key, "text": case}) == f"remembered {key}",
        180,
        "ai_memory before the fault",
    )
    load = lk.Load("text_tools", "word_count", {"text": "a b c"}, workers=1, max_seconds=RECOVERY_LIMIT)
    load.start()
    try:
        make_fault()
        started = time.monotonic()
        proc, _ = lk.playbook("remediate.yml", "-l", node, *extra)
        assert proc.returncode == 0, proc.stdout[-3000:]
        lk.wait_for(lambda: node_ready(node), 120, f"{node} ready")
        lk.wait_for(
            lambda: lk.tool_text("ai_memory", "recall", {"key": key}) == case, 180, "ai_memory answers"
        )
        recovered = True
    finally:
        load.stop()
    data_lost = lk.tool_text("ai_memory", "recall", {"key": key}) != case
    line = record(case, started, load, recovered, data_lost)
    assert line["seconds_to_recover"] < RECOVERY_LIMIT and not data_lost
    return line, proc


def test_check_mode_shows_the_plan_and_changes_nothing():
    node = worker()
    assert lk.docker("exec", node, "systemctl", "stop", "docker", "docker.socket").returncode == 0
    try:
        proc, _recap = lk.playbook("remediate.yml", "-l", node, "--check")
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert "plan: the Docker engine is inactive" in proc.stdout
        state = lk.docker("exec", node, "systemctl", "is-active", "docker")
        assert state.stdout.strip() != "active", "check mode started the engine"
    finally:
        lk.docker("exec", node, "systemctl", "start", "docker")
        lk.wait_for(lambda: node_ready(node), 120, f"{node} ready again")


def test_engine_stopped_on_a_worker():
    node = worker()
    line, proc = fault_case(
        "engine stopped on a worker",
        node,
        lambda: lk.docker("exec", node, "systemctl", "stop", "docker", "docker.socket"),
    )
    assert "start the Docker engine" in proc.stdout or "the Docker engine is inactive" in proc.stdout
    assert line["recovered"] == "yes"


def test_worker_left_the_swarm_by_force_rejoins_with_its_labels():
    node = worker()
    line, proc = fault_case(
        "worker left the swarm", node, lambda: lk.docker("exec", node, "docker", "swarm", "leave", "--force")
    )
    assert "the node is not in the swarm" in proc.stdout
    labels = json.loads(
        lk.on_node(lk.first_manager(), "node", "inspect", node, "--format", "{{json .Spec.Labels}}").stdout
    )
    wanted = (lk.hosts()[node].get("swarm_node_labels") or {}) | {"cloud": "lab", "gpu.model": "lab-fake"}
    assert {k: labels.get(k) for k in wanted} == {k: str(v) for k, v in wanted.items()}
    assert line["recovered"] == "yes"


def test_junk_images_are_pruned_and_volumes_kept():
    node = worker()
    base = lk.on_node(node, "images", "-q", "--filter", "reference=*/mcp/*").stdout.split()
    assert base, "no stack image on the worker"

    def junk():
        # a new layer per junk image (a tag alone would share the stack's layers)
        for i in range(3):
            made = lk.on_node(node, "run", "--name", f"junk-{i}", "--entrypoint", "sh", base[0], "-c",
                              "head -c 2000000 /dev/urandom > /tmp/junk")  # fmt: skip
            assert made.returncode == 0, made.stderr
            assert lk.on_node(node, "commit", f"junk-{i}", f"junk/filler:{i}").returncode == 0
            assert lk.on_node(node, "rm", f"junk-{i}").returncode == 0
        junk_images = lk.on_node(node, "images", "-q", "--filter", "reference=junk/*").stdout.split()
        assert len(junk_images) == 3, "the junk images were not made"

    volumes_before = set(lk.on_node(node, "volume", "ls", "-q").stdout.split())
    # the lab cannot fill this machine's shared disk: a threshold of 1 % makes the
    # remediation see "over threshold", which is the path under test
    line, proc = fault_case("disk full of junk images", node, junk, "-e", "remediate_disk_threshold=1")
    assert "free disk" in proc.stdout
    left = lk.on_node(
        node, "images", "--format", "{{.Repository}}", "--filter", "reference=junk/*"
    ).stdout.split()
    assert left == [], left
    assert volumes_before <= set(lk.on_node(node, "volume", "ls", "-q").stdout.split()), (
        "a volume was removed"
    )
    assert line["recovered"] == "yes"
