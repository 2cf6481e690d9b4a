"""Benchmark: engine + swarm by hand (the floor) against the collection's roles, on fresh nodes.

In one run, on a lab of its own (own name, subnet, state and inventory; the lab you use is
not touched) brought up fresh for each side:

- floor: on every node at once, `apt-get update`, `apt-get install docker.io`, the engine
  started; then `docker swarm init` on the first node and every other node joined as a
  manager, in parallel. No Ansible, nothing checked: what an operator types.
- roles: `bench/engine_swarm.yml` (the host, docker and swarm roles, as site.yml runs them)
  with profile_roles, so the JSON has each role's seconds.

Prints one JSON object: both times, the ratios against the targets (docker + swarm within
1.3x the floor, host + docker + swarm within 1.6x), and the per-role seconds.

    python bench/engine_swarm.py [--nodes 3]
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_NAME = "lswarm-bench"
BENCH_SUBNET = "172.31.242.0/24"
# the bench lab's private network (the swarm's), apart from the main lab's 172.31.250.0/24
BENCH_PRIVATE_SUBNET = "172.31.252.0/24"
FLOOR_INSTALL = (
    "export DEBIAN_FRONTEND=noninteractive && apt-get update -q >/dev/null && "
    "apt-get install -y -q docker.io >/dev/null && systemctl start docker && docker info >/dev/null"
)
ROLE_LINE = re.compile(r"^(\S+) -+ (\d+\.\d+)s$")


def lab(script: str, *args: str, env: dict) -> None:
    subprocess.run(["bash", str(ROOT / "lab" / script), *args], env=env, check=True, timeout=900,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def node_exec(node: str, command: str, timeout: int = 600) -> str:
    proc = subprocess.run(
        ["docker", "exec", node, "sh", "-c", command],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{node}: {command} failed: {proc.stderr[-1000:]}")
    return proc.stdout.strip()


def nodes_of() -> list:
    label = f"label=io.sophia.lambda_swarm.lab={BENCH_NAME}"
    out = subprocess.run(
        ["docker", "ps", "--filter", label, "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(out)


def address(node: str) -> str:
    """The node's private address (the one a swarm advertises, as the collection's rule picks)."""
    found = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", node],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    private = ipaddress.ip_network(BENCH_PRIVATE_SUBNET)
    return next(a for a in found if ipaddress.ip_address(a) in private)


def floor(nodes: list) -> float:
    """apt + engine on every node in parallel, then init and joins: the seconds it took."""
    started = time.monotonic()
    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(lambda n: node_exec(n, FLOOR_INSTALL), nodes))
    first = nodes[0]
    node_exec(first, f"docker swarm init --advertise-addr {address(first)} >/dev/null")
    token = node_exec(first, "docker swarm join-token -q manager")
    join = f"docker swarm join --token {token} {address(first)}:2377 >/dev/null"
    with ThreadPoolExecutor(max(1, len(nodes) - 1)) as pool:
        list(pool.map(lambda n: node_exec(n, join), nodes[1:]))
    managers = node_exec(first, "docker node ls --filter role=manager -q | wc -l")
    if int(managers) != len(nodes):
        raise RuntimeError(f"the floor's swarm has {managers} managers, not {len(nodes)}")
    return round(time.monotonic() - started, 1)


def roles(state: Path, env: dict) -> tuple:
    """The host, docker and swarm roles on the fresh nodes: (seconds, {role: seconds})."""
    inventory = state / "inventory"
    for part in ("group_vars/lab_nodes/connection.yml", "group_vars/all/profile.yml"):
        (inventory / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "inventory" / "lab" / part, inventory / part)
    shutil.copy(env["LAB_INVENTORY"], inventory / "hosts.yml")
    run_env = {
        **env,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_roles,ansible.posix.profile_tasks",
        "ANSIBLE_CACHE_PLUGIN": "memory",
        "ANSIBLE_NOCOLOR": "1",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         str(ROOT / "bench" / "engine_swarm.yml")],
        cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    seconds = round(time.monotonic() - started, 1)
    # the whole run with its per-task times, for where the roles' seconds went
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench-engine_swarm.log").write_text(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError("the roles failed:\n" + proc.stdout[-3000:])
    per_role = {}
    for line in proc.stdout.split("PLAY RECAP")[-1].splitlines():
        match = ROLE_LINE.match(line.strip())
        if match and match.group(1) != "total":
            per_role[match.group(1).rsplit(".", 1)[-1]] = float(match.group(2))
    return seconds, per_role


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3, help="managers (all nodes are managers)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="engine-swarm-bench-") as tmp:
        state = Path(tmp)
        env = {
            **os.environ,
            "LAB_NAME": BENCH_NAME,
            "LAB_SUBNET": BENCH_SUBNET,
            "LAB_PRIVATE_SUBNET": BENCH_PRIVATE_SUBNET,
            "LAB_STATE_DIR": str(state / "lab"),
            "LAB_INVENTORY": str(state / "hosts.yml"),
            "LAB_GPUS": "",
        }
        try:
            lab("up.sh", str(opts.nodes), "0", env=env)
            floor_s = floor(nodes_of())
            lab("down.sh", "--nodes", env=env)
            lab("up.sh", str(opts.nodes), "0", env=env)
            roles_s, per_role = roles(state, env)
        finally:
            lab("down.sh", env=env)
    engine_swarm = round(per_role.get("docker", 0) + per_role.get("swarm", 0), 1)
    result = {
        "benchmark": "engine_swarm",
        "nodes": opts.nodes,
        "floor_s": floor_s,
        "roles_s": roles_s,
        "per_role_s": per_role,
        "docker_swarm_s": engine_swarm,
        "docker_swarm_ratio": round(engine_swarm / floor_s, 2),
        "docker_swarm_target_ratio": 1.3,
        "host_docker_swarm_ratio": round(roles_s / floor_s, 2),
        "host_docker_swarm_target_ratio": 1.6,
    }
    result["within_targets"] = (
        result["docker_swarm_ratio"] <= 1.3 and result["host_docker_swarm_ratio"] <= 1.6
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
