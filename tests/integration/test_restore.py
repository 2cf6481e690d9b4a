"""Backup and restore round trip (issue 10). NOT YET PASSING, so not a stage of `make test`:
run it by hand with LAB_RESTORE=1 on a lab where site.yml ran (it replaces the whole lab).
Where it stands: the backups, the volumes and the swarm's state restored on the manager they
came from, --force-new-cluster and the joins of three of the four other hosts work; the last
manager's join times out asking the restored cluster for its certificate.

A note is stored through the gateway; backup.yml saves the volumes (once volumes only, then
in full with backup_keep=1, which must leave only the full one); the lab is destroyed and
brought up again as bare hosts; restore.yml turns those into the cluster again; the note is
recalled, the services, secrets and labels are back, and every server is healthy."""

import json
import os
import subprocess
import time
import uuid

import labkit as lk
import pytest

pytestmark = pytest.mark.skipif(
    not lk.lab_up() or os.environ.get("LAB_RESTORE") != "1",
    reason="the round trip replaces the lab: run it with LAB_RESTORE=1 (make lab-test does)",
)

BACKUPS = lk.ROOT / "backups"


def lab(*args):
    proc = subprocess.run(
        ["bash", *args], cwd=lk.ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def stack_services():
    out = lk.on_node(lk.first_manager(), "service", "ls", "--format", "{{.Name}}")
    return sorted(out.stdout.split())


def test_backup_then_restore_into_a_fresh_lab_brings_the_notes_back():
    key = "backup-%s" % uuid.uuid4().hex[:8]
    assert (
        lk.tool_text("ai_memory", "remember", {"key": key, "text": "kept across a disaster"})
        == f"remembered {key}"
    )
    services = stack_services()
    secrets = sorted(lk.on_node(lk.first_manager(), "secret", "ls", "--format", "{{.Name}}").stdout.split())
    groups = {"managers": [], "workers": []}
    for name, host in lk.hosts().items():
        groups[host["group"]].append(name)

    # a volumes-only backup, then a full one that keeps only itself
    load = lk.Load("ai_memory", "recall", {"key": key}, workers=1, max_seconds=300)
    load.start()
    try:
        proc, _ = lk.playbook("backup.yml", "-e", "backup_swarm=false")
        assert proc.returncode == 0, proc.stdout[-3000:]
        started = time.monotonic()
        proc, _ = lk.playbook("backup.yml", "-e", "backup_keep=1")
        backup_seconds = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout[-3000:]
    finally:
        load.stop()
    assert load.failures == [], load.failures[:3]  # paused, not failed
    kept = sorted(p for p in BACKUPS.iterdir() if p.is_dir())
    assert len(kept) == 1, kept
    backup = kept[0]
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["swarm"]["file"] == "swarm.tar.gz" and (backup / "swarm.tar.gz").is_file()
    assert [v["name"] for v in manifest["volumes"]] == ["mcp_ai_memory_data"]
    assert set(manifest["sha256"]) == {"swarm.tar.gz", manifest["volumes"][0]["file"]}

    # a wrong confirmation changes nothing
    proc, _ = lk.playbook("restore.yml", "-e", f"restore_from={backup}", "-e", "restore_confirm=yes")
    assert proc.returncode != 0 and "Nothing was changed" in proc.stdout

    # the disaster: every host gone with its disks (the controller keeps its vault, CA and
    # the backup); new bare hosts with the same names and addresses
    lab("lab/down.sh", "--nodes")
    lab("lab/up.sh", str(len(groups["managers"])), str(len(groups["workers"])))
    assert lk.docker("exec", lk.first_manager(), "test", "-e", "/usr/bin/dockerd").returncode != 0, "not bare"

    started = time.monotonic()
    proc, recap = lk.playbook(
        "restore.yml", "-e", f"restore_from={backup}", "-e", f"restore_confirm={backup.name}"
    )
    restore_seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(r["failed"] == 0 for r in recap.values()), recap

    assert lk.tool_text("ai_memory", "recall", {"key": key}) == "kept across a disaster"
    assert stack_services() == services
    assert (
        sorted(lk.on_node(lk.first_manager(), "secret", "ls", "--format", "{{.Name}}").stdout.split())
        == secrets
    )
    report = json.loads((lk.ROOT / "artifacts" / "health-report.json").read_text())
    assert all(r["ok"] for r in report["results"]), report
    nodes = lk.on_node(lk.first_manager(), "node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout
    assert sorted(nodes.split("\n")[:-1]) == sorted(f"{n} Ready" for n in lk.hosts()), nodes
    print(json.dumps({"backup_s": round(backup_seconds, 1), "restore_s": round(restore_seconds, 1)}))
