"""Benchmark: how site.yml's time grows with the cluster, fresh and re-run, beside the floor.

For each size (default 3+1 and 3+6), on a lab of its own (the lab you use is not touched):
bring up fresh nodes, run the by-hand floor (bench/engine_swarm.py's: apt, engine, swarm, no
Ansible) on them, bring them up fresh again, run site.yml (the whole site, the example
project, monitoring) and then site.yml again (it must report changed=0), and read what the
nodes cost the machine's memory (in use with them up less before, per node). Prints one JSON
object: per size the times, per-role seconds and memory (each size also on stderr as soon as
it is measured); then what each extra worker adds to site.yml (fresh and re-run) and to the
floor, the ratio against the target (fresh: at most 1.5x what it adds to the floor; re-run:
under 3 s), and how
many nodes of the measured size fit in this machine's memory.

    python bench/scale.py [--sizes 3+1,3+6]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engine_swarm as es  # the floor and the lab helpers, shared

ROOT = es.ROOT
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def inventory_of(state: Path, env: dict) -> Path:
    """The lab inventory's group_vars with this lab's hosts.yml and vault."""
    inventory = state / "inventory"
    shutil.rmtree(inventory, ignore_errors=True)
    shutil.copytree(ROOT / "inventory" / "lab" / "group_vars", inventory / "group_vars",
                    ignore=shutil.ignore_patterns("vault.yml"))  # fmt: skip
    shutil.copy(env["LAB_INVENTORY"], inventory / "hosts.yml")
    shutil.copy(env["LAB_VAULT_FILE"], inventory / "group_vars" / "all" / "vault.yml")
    return inventory


def site(inventory: Path, env: dict) -> dict:
    run_env = {
        **env,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_roles",
        "ANSIBLE_CACHE_PLUGIN": "memory",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_VAULT_IDENTITY_LIST": f"lab@{ROOT / 'lab' / 'vault-pass.sh'}",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(ROOT / "site.yml")],
        cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=3000, check=False,
    )  # fmt: skip
    seconds = round(time.monotonic() - started, 1)
    if proc.returncode != 0:
        raise RuntimeError("site.yml failed:\n" + proc.stdout[-3000:])
    recap = proc.stdout.split("PLAY RECAP")[-1]
    changed = sum(int(m.group(2)) for m in map(RECAP.match, recap.splitlines()) if m)
    per_role = {}
    for line in recap.splitlines():
        match = es.ROLE_LINE.match(line.strip())
        if match and match.group(1) != "total":
            per_role[match.group(1).rsplit(".", 1)[-1]] = float(match.group(2))
    return {"seconds": seconds, "changed": changed, "per_role_s": per_role}


def host_used_mib() -> int:
    """This machine's memory in use (MemTotal less MemAvailable), MiB. The nodes' own
    accounting cannot be read here (docker stats reports 0 B for them on this kernel's
    cgroups), so a node's cost is the machine's use with the lab up less before, per node."""
    fields = {}
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            key, value = line.split(":", 1)
            fields[key] = int(value.split()[0])
    return (fields["MemTotal"] - fields["MemAvailable"]) // 1024


def measure(managers: int, workers: int, tmp: Path) -> dict:
    state = tmp / f"{managers}+{workers}"
    env = {
        **os.environ,
        "LAB_NAME": es.BENCH_NAME,
        "LAB_SUBNET": es.BENCH_SUBNET,
        "LAB_PRIVATE_SUBNET": es.BENCH_PRIVATE_SUBNET,
        "LAB_STATE_DIR": str(state / "lab"),
        "LAB_INVENTORY": str(state / "hosts.yml"),
        "LAB_VAULT_FILE": str(state / "vault.yml"),
        "LAB_GPUS": "",
    }
    nodes = [str(managers), str(workers)]
    before_mib = host_used_mib()
    try:
        es.lab("up.sh", *nodes, env=env)
        floor_s = es.floor(es.nodes_of())
        es.lab("down.sh", "--nodes", env=env)
        es.lab("up.sh", *nodes, env=env)
        inventory = inventory_of(state, env)
        fresh = site(inventory, env)
        rerun = site(inventory, env)
        used_mib = host_used_mib()
        memory = {"host_used_before_mib": before_mib, "host_used_after_mib": used_mib,
                  "per_node_mib": round((used_mib - before_mib) / (managers + workers), 1)}  # fmt: skip
    finally:
        es.lab("down.sh", env=env)
    return {
        "managers": managers,
        "workers": workers,
        "floor_s": floor_s,
        "fresh": fresh,
        "rerun": rerun,
        "memory_mib": memory,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3+1,3+6", help="MANAGERS+WORKERS, comma separated (two)")
    opts = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("+")) for size in opts.sizes.split(",")]
    if len(sizes) != 2 or sizes[0][0] != sizes[1][0] or sizes[1][1] <= sizes[0][1]:
        parser.error("--sizes: two sizes with the same managers, the second with more workers")
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        measured = []
        for managers, workers in sizes:
            measured.append(measure(managers, workers, Path(tmp)))
            print(json.dumps(measured[-1]), file=sys.stderr, flush=True)  # kept should a later size fail
        small, large = measured
    extra = large["workers"] - small["workers"]

    def per_worker(key):
        return round((large[key]["seconds"] - small[key]["seconds"]) / extra, 1)

    floor_per_worker = round((large["floor_s"] - small["floor_s"]) / extra, 1)
    node_mib = max(large["memory_mib"]["per_node_mib"], small["memory_mib"]["per_node_mib"])
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_mib = int(meminfo.readline().split()[1]) // 1024
    result = {
        "benchmark": "scale",
        "sizes": [small, large],
        "fresh_s_per_extra_worker": per_worker("fresh"),
        "rerun_s_per_extra_worker": per_worker("rerun"),
        "floor_s_per_extra_worker": floor_per_worker,
        "fresh_ratio_to_floor": round(per_worker("fresh") / floor_per_worker, 2)
        if floor_per_worker > 0
        else None,
        "fresh_target_ratio": 1.5,
        "rerun_target_s": 3,
        "reruns_changed": [small["rerun"]["changed"], large["rerun"]["changed"]],
        "largest_node_mib": node_mib,
        "machine_mib": total_mib,
        "nodes_that_fit": int(total_mib * 0.8 // node_mib) if node_mib > 0 else None,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
