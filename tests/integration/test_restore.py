"""Backup and restore round trip (issue 10). It replaces the whole lab, so it runs only with
LAB_RESTORE=1, as its own stage of `make lab-test` after the other lab tests.

A note is stored through the gateway; backup.yml saves the volumes (once volumes only, then
in full with backup_keep=1, which must leave only the full one, encrypted, and remove the
leftovers of failed runs); the lab is destroyed and
brought up again as bare hosts; restore.yml turns those into the cluster again; the note is
recalled, the services and secrets are the backup's (the same IDs: restored, not made anew),
every node is back and Ready, and every server is healthy."""

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

BACKUPS = lk.BACKUPS


def lab(*args):
    proc = subprocess.run(
        ["bash", *args], cwd=lk.ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def listing(kind):
    """'<ID> <name>' of every service or secret, sorted: IDs survive only in the swarm's state."""
    out = lk.on_node(lk.first_manager(), kind, "ls", "--format", "{{.ID}} {{.Name}}")
    return sorted(out.stdout.splitlines())


def test_backup_then_restore_into_a_fresh_lab_brings_the_notes_back():
    key = "backup-%s" % uuid.uuid4().hex[:8]
    assert (
        lk.tool_text("ai_memory", "remember", {"key": key, "text": "kept across a disaster"})
        == f"remembered {key}"
    )
    services, secrets = listing("service"), listing("secret")
    groups = {"managers": [], "workers": []}
    for name, host in lk.hosts().items():
        groups[host["group"]].append(name)

    # the engine stopped for the swarm's archive takes its node's gateway down meanwhile: name
    # a manager that is neither the leader nor the one whose gateway the load goes through
    status = lk.on_node(lk.first_manager(), "node", "ls", "--filter", "role=manager", "--format",
                        "{{.Hostname}} {{.ManagerStatus}}").stdout  # fmt: skip
    leader = [line.split()[0] for line in status.splitlines() if line.endswith(" Leader")]
    spare = next(m for m in sorted(groups["managers"]) if m != lk.first_manager() and m not in leader)

    # without the archive's key the swarm's state is not backed up, and nothing is written
    before = sorted(BACKUPS.iterdir()) if BACKUPS.is_dir() else []
    proc, _ = lk.playbook("backup.yml", "-e", "backup_encryption_key=")
    assert (
        proc.returncode != 0
        and "backup_encryption_key" in proc.stdout
        and "Nothing was changed" in proc.stdout
    )
    assert (sorted(BACKUPS.iterdir()) if BACKUPS.is_dir() else []) == before

    # a volumes-only backup, then a full one that keeps only itself
    load = lk.Load("ai_memory", "recall", {"key": key}, workers=1, max_seconds=300)
    load.start()
    try:
        proc, _ = lk.playbook("backup.yml", "-e", "backup_swarm=false")
        assert proc.returncode == 0, proc.stdout[-3000:]
        # leftovers of runs that failed: an older folder without a manifest, a partial one; they
        # are never counted as backups, and the next complete backup removes them
        (BACKUPS / "20000101T000000Z" / "volumes").mkdir(parents=True)
        (BACKUPS / ".20000102T000000Z.partial").mkdir()
        started = time.monotonic()
        proc, _ = lk.playbook("backup.yml", "-e", "backup_keep=1", "-e", f"backup_swarm_manager={spare}")
        backup_seconds = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout[-3000:]
    finally:
        load.stop()
    assert load.failures == [], load.failures[:3]  # paused, not failed
    kept = sorted(p for p in BACKUPS.iterdir() if p.is_dir())
    assert len(kept) == 1, kept
    backup = kept[0]
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["swarm"] == {"file": "swarm.tar.gz.gpg", "encrypted": "gpg-aes256", "manager": spare}
    # the swarm's state (every secret) left the manager encrypted: an OpenPGP message, no gzip
    # inside it readable, and no plain archive anywhere in the backup
    head = (backup / "swarm.tar.gz.gpg").read_bytes()[:2]
    assert head[0] & 0x80 and head != b"\x1f\x8b", head
    files = {str(f.relative_to(backup)) for f in backup.rglob("*") if f.is_file()}
    assert files == set(manifest["sha256"]) | {"manifest.json"}, files  # the manifest covers every file
    assert [v["name"] for v in manifest["volumes"]] == ["mcp_ai_memory_data"]
    assert set(manifest["sha256"]) == {"swarm.tar.gz.gpg", manifest["volumes"][0]["file"]}
    assert (
        not (backup / "unlock-key").exists() and manifest["unlock_key"] is False
    )  # the lab runs without autolock

    # a wrong confirmation changes nothing
    proc, _ = lk.playbook("restore.yml", "-e", f"restore_from={backup}", "-e", "restore_confirm=yes")
    assert proc.returncode != 0 and "Nothing was changed" in proc.stdout

    # the disaster: every host gone with its disks (the controller keeps its vault, CA and
    # the backup); new bare hosts with the same names and addresses
    lab("lab/down.sh", "--nodes")
    lab("lab/up.sh", str(len(groups["managers"])), str(len(groups["workers"])))
    assert lk.docker("exec", lk.first_manager(), "test", "-e", "/usr/bin/dockerd").returncode != 0, "not bare"

    started = time.monotonic()
    # bare hosts to a full stack: every image rebuilt into the new registry (bounded)
    # artifacts/restore.log ends with the slowest tasks and each role's time
    profile = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks,ansible.posix.profile_roles"}
    proc, recap = lk.playbook(
        "restore.yml",
        "-e",
        f"restore_from={backup}",
        "-e",
        f"restore_confirm={backup.name}",
        timeout=1800,
        env=profile,
    )
    restore_seconds = time.monotonic() - started
    (lk.ROOT / "artifacts").mkdir(exist_ok=True)
    (lk.ROOT / "artifacts" / "restore.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(r["failed"] == 0 for r in recap.values()), recap

    recalled = lk.tool_text("ai_memory", "recall", {"key": key})
    lk.report_case(
        "every host lost, restored from a backup",
        recovered=recalled == "kept across a disaster",
        seconds=restore_seconds,
        calls=load.calls,
        calls_failed=len(load.failures),
        data_lost=recalled != "kept across a disaster",
        backup_s=round(backup_seconds, 1),
    )
    assert recalled == "kept across a disaster"
    assert listing("service") == services
    assert listing("secret") == secrets
    report = json.loads((lk.ARTIFACTS / "health-report.json").read_text())
    assert all(r["ok"] for r in report["results"]), report
    nodes = lk.on_node(lk.first_manager(), "node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout
    assert sorted(nodes.split("\n")[:-1]) == sorted(f"{n} Ready" for n in lk.hosts()), nodes
    # the restored swarm (its restored raft's addresses) and the nodes joined to it: private
    lk.assert_swarm_on_private_addresses()
