#!/usr/bin/env bash
# Real MCP SDKs for the tests and benchmarks. mcp 2.x and 1.x cannot share a virtual
# environment, so each gets its own under .cache/venvs/, created once and cached by a
# hash of its requirements file; .cache/venvs/mcp2 and mcp1 point at the current ones.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$repo/.cache/venvs"
for gen in 2 1; do
  req="$repo/tests/servers/requirements-mcp$gen.txt"
  hash=$(sha256sum <"$req" | cut -c1-12)
  dir="$repo/.cache/venvs/mcp$gen-$hash"
  if [ ! -x "$dir/bin/python" ] || [ ! -f "$dir/.complete" ]; then
    echo "creating the mcp $gen.x test environment ($dir)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q -r "$req"
    touch "$dir/.complete"
  fi
  ln -sfn "mcp$gen-$hash" "$repo/.cache/venvs/mcp$gen"
done
