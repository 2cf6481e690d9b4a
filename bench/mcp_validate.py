"""Benchmark: mcp_validate on a generated project of 1,000 MCP servers and 100 compose
files (each server: package, server.py, Dockerfile, requirements; each compose file:
10 services with build contexts, ports, secrets and a python -m command). Target: under
1 s on this machine. Prints one JSON object.

    python bench/mcp_validate.py [--servers 1000] [--compose 100] [--repeat 3]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate import validate  # noqa: E402


def generate(root: Path, servers: int, compose: int) -> int:
    (root / "backend" / "mcp_servers").mkdir(parents=True)
    (root / "backend" / "__init__.py").write_text("")
    (root / "backend" / "mcp_servers" / "__init__.py").write_text("")
    (root / "secrets").mkdir()
    (root / "secrets" / "token.txt").write_text("x\n")
    for i in range(servers):
        d = root / "backend" / "mcp_servers" / f"server_{i:04d}"
        d.mkdir()
        (d / "__init__.py").write_text("")
        (d / "server.py").write_text(
            "import json\n\napp = None\n\n\ndef handle(request):\n    return json.dumps({'ok': True})\n"
        )
        (d / "requirements.txt").write_text("mcp==2.3.0\n")
        (d / "Dockerfile").write_text(
            "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nWORKDIR /app\n"
            'COPY requirements.txt server.py __init__.py ./\nCMD ["uvicorn", "server:app"]\n'
        )
    per_file = max(1, servers // compose)
    for c in range(compose):
        lines = ["services:"]
        for k in range(per_file):
            i = c * per_file + k
            if i >= servers:
                break
            lines += [
                f"  server_{i:04d}:",
                f"    build: backend/mcp_servers/server_{i:04d}",
                f"    image: registry.lab:5000/server_{i:04d}:1.0.0",
                f"    command: python -m backend.mcp_servers.server_{i:04d}.server",
                "    ports:",
                f'      - "{10000 + i}:8000"',
                "    secrets: [token]",
                "    deploy:",
                "      replicas: 1",
            ]
        lines += ["secrets:", "  token:", "    file: ./secrets/token.txt", ""]
        (root / f"docker-compose.part{c:03d}.yml").write_text("\n".join(lines))
    (root / "deploy.sh").write_text(
        "#!/bin/sh\n"
        + "".join(f"docker stack deploy -c docker-compose.part{c:03d}.yml s{c}\n" for c in range(compose))
    )
    return sum(1 for p in root.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--compose", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp-validate-bench-") as tmp:
        files = generate(Path(tmp), opts.servers, opts.compose)
        times = []
        for _run in range(opts.repeat):
            started = time.perf_counter()
            result = validate(tmp)
            times.append(time.perf_counter() - started)
    print(json.dumps({
        "benchmark": "mcp_validate",
        "servers": opts.servers,
        "compose_files": opts.compose,
        "files": files,
        "files_scanned": result["summary"]["files_scanned"],
        "findings": result["summary"]["total"],
        "best_s": round(min(times), 3),
        "median_s": round(sorted(times)[len(times) // 2], 3),
        "target_s": 1.0,
        "within_target": min(times) < 1.0,
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
