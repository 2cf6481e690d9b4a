"""Benchmark: a fresh lab (3 managers + 1 worker by default) to a healthy MCP stack with
`site.yml`, then a second run of site.yml (which must report changed=0), with the time of
each phase (preflight, host, docker, swarm, registry, secrets, images, deploy, converge,
health) from Ansible's profile_tasks callback and each role's from profile_roles. Targets
(issue 22): fresh (lab up and site.yml) under 4 minutes on this 2-core machine; the re-run
changed=0 in under 40 s and under 12 % of the fresh time.

Uses the default lab (inventory/lab): it refuses to run while a lab is up unless --replace,
and removes the lab afterwards unless --keep. Prints one JSON object.

    python bench/stack.py [--managers 3] [--workers 1] [--replace] [--keep]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# profile_tasks lines: "role : task name ---- 12.34s"
LINE = re.compile(r"^(?:(?P<role>[\w.]+) : )?(?P<task>.+?) -{2,} (?P<secs>\d+\.\d+)s$")
STACK_PHASES = (
    ("images", ("Hash the project", "base image", "Build directories", "Copy the project",
                "standard Dockerfile", "build context", "Build and push", "digests", "Content tags",
                "Deploy by digest", "Images of this content", "content tags", "What each image needs",
                "archive", "Pack each context", "Unpack each", "Files added to the contexts",
                "Build each image", "the builds", "Wait for each build", "Push the images",
                "Pull images", "references to deploy", "Would build")),
    ("deploy", ("Render", "Write docker-compose", "Copy the stack files", "Deploy the stack", "gateway",
                "Gateway", "Note when")),
    ("converge", ("Wait until every service",)),
    ("health", ("Speak MCP", "health report", "report for the end", "does not answer")),
)  # fmt: skip


def phase_of(role, task):
    role = (role or "").rsplit(".", 1)[-1]
    if role == "stack":
        for phase, needles in STACK_PHASES:
            if any(n in task for n in needles):
                return phase
        return "validate"
    return role or "plays"


def site(label):
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks,ansible.posix.profile_roles",
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all",
        "PROFILE_TASKS_SORT_ORDER": "none",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": "{}:{}".format(BIN, os.environ.get("PATH", "")),
    }
    start = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory/lab", "site.yml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    seconds = round(time.monotonic() - start, 1)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit(f"{label} run of site.yml failed (the lab's vault: ANSIBLE_VAULT_IDENTITY_LIST)")
    recap = proc.stdout.split("PLAY RECAP")[-1]
    # the two callbacks' tables: "TASKS RECAP" (role : task ---- s) and "ROLES RECAP" (role ---- s)
    parts = re.split(r"^(TASKS RECAP|ROLES RECAP)\b.*$", recap, flags=re.M)
    tables = dict(zip(parts[1::2], parts[2::2], strict=True))
    phases, roles = {}, {}
    for line in tables.get("TASKS RECAP", "").splitlines():
        m = LINE.match(line.strip())
        if m:
            phase = phase_of(m.group("role"), m.group("task"))
            phases[phase] = round(phases.get(phase, 0) + float(m.group("secs")), 1)
    for line in tables.get("ROLES RECAP", "").splitlines():
        m = LINE.match(line.strip())
        if m and not m.group("role") and m.group("task") != "total":
            roles[m.group("task").rsplit(".", 1)[-1]] = float(m.group("secs"))
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", recap))
    return {"seconds": seconds, "changed": changed, "phases": phases, "roles": roles}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--replace", action="store_true", help="tear down a lab that is up")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    opts = parser.parse_args()
    if (ROOT / "inventory" / "lab" / "hosts.yml").is_file() and not opts.replace:
        raise SystemExit("a lab is up (inventory/lab/hosts.yml); pass --replace to tear it down first")
    subprocess.run(["bash", str(ROOT / "lab" / "down.sh")], check=True, capture_output=True)
    start = time.monotonic()
    subprocess.run(
        ["bash", str(ROOT / "lab" / "up.sh"), str(opts.managers), str(opts.workers)],
        check=True,
        capture_output=True,
    )
    lab_up = round(time.monotonic() - start, 1)
    try:
        fresh = site("fresh")
        again = site("second")
    finally:
        if not opts.keep:
            subprocess.run(["bash", str(ROOT / "lab" / "down.sh")], check=False, capture_output=True)
    total = round(lab_up + fresh["seconds"], 1)
    print(
        json.dumps(
            {
                "benchmark": "fresh lab to healthy stack, then a second site.yml",
                "nodes": {"managers": opts.managers, "workers": opts.workers},
                "lab_up_s": lab_up,
                "fresh_site_s": fresh["seconds"],
                "fresh_total_s": total,
                "fresh_phases_s": fresh["phases"],
                "fresh_roles_s": fresh["roles"],
                "second_site_s": again["seconds"],
                "second_changed": again["changed"],
                "second_phases_s": again["phases"],
                "second_roles_s": again["roles"],
                "targets": {
                    "fresh_total_under_s": 240,
                    "fresh_ok": total < 240,
                    "second_under_s": 40,
                    "second_under_ratio": 0.12,
                    "second_ratio": round(again["seconds"] / total, 3),
                    "second_ok": again["changed"] == 0 and again["seconds"] < min(40, 0.12 * total),
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
