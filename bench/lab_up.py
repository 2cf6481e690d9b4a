"""Benchmark: how long the lab takes to come up, cold (base image built from scratch)
and warm (cached image), until every node answers over SSH.

Runs a separate lab (its own name, subnet, state directory, inventory and image
repository) so a lab you are using is not touched, and removes it afterwards.
Prints one JSON object.

    python bench/lab_up.py [--managers 3] [--workers 1] [--skip-cold]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_IMAGE_REPO = "sophia-lambda-swarm/node-bench"


def run(script: str, *args: str, env: dict) -> float:
    start = time.monotonic()
    subprocess.run(["bash", str(ROOT / "lab" / script), *args], env=env, check=True, timeout=900)
    return round(time.monotonic() - start, 2)


def remove_bench_images() -> None:
    ids = subprocess.run(
        ["docker", "images", "-q", BENCH_IMAGE_REPO], capture_output=True, text=True, check=True
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "image", "rm", "-f", *set(ids)], capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip-cold", action="store_true", help="only measure with a cached image")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lab-bench-") as state:
        env = {
            **os.environ,
            "LAB_NAME": "lswarm-bench-up",
            "LAB_SUBNET": "172.31.241.0/24",
            "LAB_PRIVATE_SUBNET": "172.31.251.0/24",
            "LAB_STATE_DIR": state,
            "LAB_INVENTORY": str(Path(state) / "hosts.yml"),
            "LAB_IMAGE_REPO": BENCH_IMAGE_REPO,
        }
        nodes = [str(opts.managers), str(opts.workers)]
        result: dict = {"benchmark": "lab_up", "nodes": opts.managers + opts.workers}
        try:
            if not opts.skip_cold:
                remove_bench_images()
                result["cold_image_build_s"] = run("image.sh", env=env)
                result["cold_lab_up_s"] = round(
                    result["cold_image_build_s"] + run("up.sh", *nodes, env=env), 2
                )
                run("down.sh", env=env)
            else:
                run("image.sh", env=env)
            result["warm_lab_up_s"] = run("up.sh", *nodes, env=env)
            result["warm_target_s"] = 60
            result["warm_within_target"] = result["warm_lab_up_s"] < result["warm_target_s"]
        finally:
            run("down.sh", env=env)
            remove_bench_images()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
