#!/usr/bin/env bash
# Real MCP SDKs for the tests and benchmarks. mcp 2.x, 1.x and 1.9.x cannot share a
# virtual environment, so each gets its own under .cache/venvs/, created once and cached by
# a hash of its requirements file; .cache/venvs/mcp2, mcp1 and mcp19 point at the current
# ones. mcp 1.9.x is an old release still deployed: it redirects POST /mcp to /mcp/ (307)
# and serves the legacy HTTP+SSE transport (GET /sse) the functional tests probe.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$repo/.cache/venvs"
for gen in 2 1 19; do
  req="$repo/tests/servers/requirements-mcp$gen.txt"
  hash=$(sha256sum <"$req" | cut -c1-12)
  dir="$repo/.cache/venvs/mcp$gen-$hash"
  if [ ! -x "$dir/bin/python" ] || [ ! -f "$dir/.complete" ]; then
    echo "creating the mcp$gen test environment ($dir)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q -r "$req"
    touch "$dir/.complete"
  fi
  ln -sfn "mcp$gen-$hash" "$repo/.cache/venvs/mcp$gen"
done
