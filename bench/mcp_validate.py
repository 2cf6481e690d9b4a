"""Benchmark: mcp_validate (module time, without Ansible's start-up) on two generated trees.

- servers: 1,000 MCP servers and 100 compose files (each server: package, server.py,
  Dockerfile, requirements; each compose file: 10 services with build contexts, ports,
  secrets and a python -m command). Target: under 1 s.
- scripts: 2,000 files holding 400k lines of shell and Python: 200 deploy scripts of 1,000
  lines (checked with bash -n and read for commands) and 1,800 Python modules of about 111
  lines (compiled; every tenth a launcher read for commands). Target: under 2 s.

Prints one JSON object.

    python bench/mcp_validate.py [--servers 1000] [--compose 100] [--scripts 200] [--modules 1800]
                                  [--repeat 3]
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
                "    command: python -m server",  # what the image runs from its WORKDIR
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


# One deploy function of a generated shell script: prose, a guarded copy, a retry loop, a
# heredoc and tee, the way real deployment scripts read.
SHELL_BLOCK = r"""deploy_{n}() {{
  local target="${{1:-docker-compose.yml}}"
  echo "deploying docker-compose.cloud.yml for part {n} (a name in prose)"
  if [ ! -f "docker-compose.part{n}.yml" ]; then
    cp docker-compose.yml "docker-compose.part{n}.yml"
  fi
  for attempt in 1 2 3; do
    if docker compose -f "$target" up -d --wait; then
      break
    fi
    sleep "$attempt"
  done
  cat > "generated.{n}.env" << 'END'
PART={n}
END
  printf '%s\n' "part {n} done" | tee -a deploy.log >/dev/null
}}
"""


def python_module(i: int, launcher: bool) -> str:
    body = [f'"""Module {i} of the benchmark tree."""', "", "import json", "import subprocess", "", ""]
    for j in range(12):
        body += [
            f"def handler_{j}(request, limit={j}):",
            f'    """Handle request kind {j}."""',
            "    items = [x * limit for x in range(limit)]",
            f'    label = f"{{request}}-{j}-{{len(items)}}"',
            "    if not items:",
            '        return {"label": label}',
            '    return json.dumps({"label": label, "items": items})',
            "",
            "",
        ]
    if launcher:
        body += [
            "def deploy():",
            '    print("docker-compose.cloud.yml is deployed elsewhere")',
            '    subprocess.run(["docker", "compose", "-f", "docker-compose.yml", "up", "-d"], check=True)',
            '    return subprocess.run(["python", "-m", "app.mod_0000"], check=False)',
        ]
    return "\n".join(body) + "\n"


def generate_scripts(root: Path, scripts: int, modules: int) -> tuple:
    (root / "deploy").mkdir(parents=True)
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "docker-compose.yml").write_text("services:\n  app:\n    image: app:1.0.0\n")
    lines = 0
    for i in range(scripts):
        text = "#!/usr/bin/env bash\nset -euo pipefail\n"
        text += "".join(SHELL_BLOCK.format(n=i * 100 + k) for k in range(56))
        text += "".join(f"# padding {k}\n" for k in range(1000 - text.count("\n")))
        lines += text.count("\n")
        (root / "deploy" / f"deploy_{i:04d}.sh").write_text(text)
    for i in range(modules):
        text = python_module(i, i % 10 == 0)
        lines += text.count("\n")
        (root / "app" / f"mod_{i:04d}.py").write_text(text)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    return files, lines


def timed(tree: str, repeat: int) -> tuple:
    times, result = [], None
    for _run in range(repeat):
        started = time.perf_counter()
        result = validate(tree)
        times.append(time.perf_counter() - started)
    return times, result


def summary(times, result, target):
    return {
        "files_scanned": result["summary"]["files_scanned"],
        "findings": result["summary"]["total"],
        "best_s": round(min(times), 3),
        "median_s": round(sorted(times)[len(times) // 2], 3),
        "target_s": target,
        "within_target": min(times) < target,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--compose", type=int, default=100)
    parser.add_argument("--scripts", type=int, default=200)
    parser.add_argument("--modules", type=int, default=1800)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp-validate-bench-") as tmp:
        files = generate(Path(tmp), opts.servers, opts.compose)
        times, result = timed(tmp, opts.repeat)
    with tempfile.TemporaryDirectory(prefix="mcp-validate-bench-scripts-") as tmp:
        script_files, script_lines = generate_scripts(Path(tmp), opts.scripts, opts.modules)
        script_times, script_result = timed(tmp, opts.repeat)
    report = {
        "benchmark": "mcp_validate",
        "servers": dict({"servers": opts.servers, "compose_files": opts.compose, "files": files},
                        **summary(times, result, 1.0)),
        "scripts": dict({"files": script_files, "lines": script_lines},
                        **summary(script_times, script_result, 2.0)),
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
