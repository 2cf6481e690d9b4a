"""Benchmark: mcp_health over 200 targets on 127.0.0.1, 20 of them hostile, deadline 10 s.

The healthy ones are real MCP endpoints: mcp SDK 2.x (current era, stateless JSON) and 1.x
(earlier era, stateful SSE), one process per SDK serving many ports. The hostile ones come
from tests/servers/hostile.py (slow headers, slow body, endless SSE lines, keepalives with
no answer, a JSON-RPC stub answering {}, a hang, a redirect to another origin, a 503...).
Target: the whole check takes under 12 s and every healthy endpoint is judged healthy.
Prints one JSON object.

    python bench/mcp_health.py [--current 120] [--earlier 60] [--hostile 20] [--deadline 10]

Needs the SDK environments from tools/mcp-venvs.sh (`make bench` makes them).
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
sys.path.insert(0, str(ROOT / "tests" / "servers"))

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_health import (  # noqa: E402
    check_all,
)
from hostile import HostileServers  # noqa: E402

HOSTILE = ["slow_headers", "slow_body", "endless_sse_line_chunked", "endless_sse_line_plain",
           "sse_keepalives", "jsonrpc_empty", "hang", "redirect_other_origin", "unavailable",
           "endless_sse_line_fast"]  # fmt: skip
TARGET_S = 12.0


def free_port_block(count: int, start: int) -> int:
    """A base port with `count` free ports after it (bounded search)."""
    for base in range(start, 60000, 500):
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


def wait_ports(base: int, count: int, proc: subprocess.Popen, limit: float = 120.0) -> None:
    end = time.monotonic() + limit
    for port in range(base, base + count):
        while True:
            if proc.poll() is not None:
                raise RuntimeError("an MCP server process exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError(f"port {port} not listening after {limit}s") from None
                time.sleep(0.05)


def start_sdk(gen: int, count: int, base: int, *args: str) -> subprocess.Popen:
    python = ROOT / ".cache" / "venvs" / f"mcp{gen}" / "bin" / "python"
    return subprocess.Popen(
        [str(python), str(ROOT / "tests" / "servers" / "mcp_server.py"), "--port", str(base),
         "--count", str(count), "--name", f"bench{gen}", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--current", type=int, default=120, help="mcp 2.x endpoints (current era)")
    parser.add_argument("--earlier", type=int, default=60, help="mcp 1.x endpoints (earlier era)")
    parser.add_argument("--hostile", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=10.0)
    opts = parser.parse_args()
    base2 = free_port_block(opts.current, 20000)
    base1 = free_port_block(opts.earlier, base2 + opts.current + 500)
    procs = [start_sdk(2, opts.current, base2, "--stateless", "--json"), start_sdk(1, opts.earlier, base1)]
    hostile = HostileServers()
    try:
        wait_ports(base2, opts.current, procs[0])
        wait_ports(base1, opts.earlier, procs[1])
        hostile_urls = hostile.start(HOSTILE)
        healthy = [{"name": f"current-{i}", "url": f"http://127.0.0.1:{base2 + i}/mcp",
                    "expect_tools": ["recall"]} for i in range(opts.current)]  # fmt: skip
        healthy += [{"name": f"earlier-{i}", "url": f"http://127.0.0.1:{base1 + i}/mcp",
                     "expect_tools": ["recall"]} for i in range(opts.earlier)]  # fmt: skip
        kinds = [HOSTILE[i % len(HOSTILE)] for i in range(opts.hostile)]
        bad = [{"name": f"hostile-{i}-{kind}", "url": hostile_urls[kind]} for i, kind in enumerate(kinds)]
        step = max(1, len(healthy) // max(1, len(bad)))
        targets = []
        for index, target in enumerate(healthy):  # hostile ones spread through the queue
            targets.append(target)
            if index % step == step - 1 and bad:
                targets.append(bad.pop(0))
        targets += bad
        check_all(targets[:8], deadline_s=10, retries=0)  # warm the servers' code paths
        started = time.monotonic()
        results, summary = check_all(targets, deadline_s=opts.deadline)
        total_s = round(time.monotonic() - started, 2)
    finally:
        hostile.close()
        for proc in procs:
            stop(proc)
    by_name = {r["name"]: r for r in results}
    healthy_ok = sum(1 for t in healthy if by_name[t["name"]]["ok"])
    hostile_ok = sum(1 for r in results if r["name"].startswith("hostile-") and r["ok"])
    print(json.dumps({
        "benchmark": "mcp_health",
        "targets": len(results),
        "hostile": opts.hostile,
        "deadline_s": opts.deadline,
        "total_s": total_s,
        "target_s": TARGET_S,
        "healthy_endpoints": len(healthy),
        "healthy_judged_healthy": healthy_ok,
        "hostile_judged_healthy": hostile_ok,
        "by_era": summary["by_era"],
        "slowest_healthy_ms": summary["slowest_ms"],
        "hostile_errors": sorted({r["error"].split(" (")[0] for r in results
                                  if r["name"].startswith("hostile-")}),
        "within_target": total_s < TARGET_S and healthy_ok == len(healthy) and hostile_ok == 0,
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
