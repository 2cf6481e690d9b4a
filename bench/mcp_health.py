"""Benchmark: mcp_health against 50 real MCP endpoints (mcp SDK 2.x, one process serving
50 ports on 127.0.0.1), one of them slow. Target: the whole check takes under twice the
slow endpoint's own probe time. Prints one JSON object.

    python bench/mcp_health.py [--endpoints 50] [--slow-delay 0.5]

Needs the SDK environment from tools/mcp-venvs.sh (`make bench` makes it).
"""

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_health import (  # noqa: E402
    Deadline,
    check_all,
    check_target,
)


def free_port_block(count: int) -> int:
    """A base port with `count` free ports after it (bounded search)."""
    for base in range(20000, 60000, 500):
        ok = True
        for port in range(base, base + count):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no block of free ports")


def wait_ports(base: int, count: int, proc: subprocess.Popen, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    for port in range(base, base + count):
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the MCP server process exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError(f"port {port} not listening after {limit}s") from None
                time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument(
        "--slow-delay", type=float, default=0.5, help="seconds added to each request of the slow one"
    )
    opts = parser.parse_args()
    python = ROOT / ".cache" / "venvs" / "mcp2" / "bin" / "python"
    base = free_port_block(opts.endpoints)
    slow = opts.endpoints // 2
    proc = subprocess.Popen(
        [str(python), str(ROOT / "tests" / "servers" / "mcp_server.py"), "--port", str(base),
         "--count", str(opts.endpoints), "--slow-index", str(slow), "--delay", str(opts.slow_delay),
         "--stateless", "--json", "--name", "bench"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ports(base, opts.endpoints, proc)
        targets = [
            {"name": f"bench-{i}", "url": f"http://127.0.0.1:{base + i}/mcp", "expect_tools": ["recall"]}
            for i in range(opts.endpoints)
        ]
        check_target(targets[0], Deadline(10), retries=0)  # warm the server's code paths
        slow_alone = check_target(targets[slow], Deadline(30), retries=0)
        fast_alone = check_target(targets[1], Deadline(30), retries=0)
        started = time.monotonic()
        results, summary = check_all(targets, deadline_s=60, retries=0)
        total_ms = round((time.monotonic() - started) * 1000, 1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    slowest_single = slow_alone["latency_ms"]
    print(json.dumps({
        "benchmark": "mcp_health",
        "endpoints": opts.endpoints,
        "healthy": summary["healthy"],
        "slow_endpoint_alone_ms": slowest_single,
        "fast_endpoint_alone_ms": fast_alone["latency_ms"],
        "all_concurrently_ms": total_ms,
        "ratio_to_slowest": round(total_ms / slowest_single, 2),
        "target_ratio": 2.0,
        "within_target": summary["healthy"] == opts.endpoints and total_ms < 2 * slowest_single,
        "slowest_in_run_ms": max(r["latency_ms"] for r in results if r["ok"]),
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
