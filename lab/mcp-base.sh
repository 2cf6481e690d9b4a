#!/usr/bin/env bash
# Build the lab's base image for MCP servers and the gateway (lab/mcp-base/Dockerfile) on
# this machine's engine, from the node image, and save it as a tarball the stack role loads
# on the build node (nothing is pulled). Cached by a hash of the recipe and the node image.
# Prints the image reference; `--ref` prints it without building.
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

MCP_BASE_REPO=${MCP_BASE_REPO:-sophia-lambda-swarm/mcp-base}

recipe_hash() {
  cat "$LAB_DIR/mcp-base/Dockerfile" "$LAB_DIR/mcp-base.sh" "$LAB_DIR/image.sh" | sha256sum | cut -c1-12
}

ref() { echo "$MCP_BASE_REPO:$(recipe_hash)"; }
archive() { echo "$REPO_DIR/.cache/images/mcp-base-$(recipe_hash).tar"; }

main() {
  local image node context
  image=$(ref)
  if "$DOCKER" image inspect "$image" >/dev/null 2>&1 && [ -s "$(archive)" ]; then
    log "MCP base image $image is cached (recipe unchanged)"
    echo "$image"
    return 0
  fi
  node=$(bash "$LAB_DIR/image.sh")
  context=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$context'" EXIT
  cp "$LAB_DIR/mcp-base/Dockerfile" "$context/"
  mkdir -p "$context/local-ca"
  # the machine's own extra authorities, read at build time (never committed)
  find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$context/local-ca/" \; 2>/dev/null || true
  log "building $image from $node"
  "$DOCKER" build -q --build-arg NODE_IMAGE="$node" --label "$LAB_LABEL.base=mcp" -t "$image" "$context" >/dev/null
  mkdir -p "$REPO_DIR/.cache/images"
  rm -f "$REPO_DIR"/.cache/images/mcp-base-*.tar
  "$DOCKER" save "$image" -o "$(archive)"
  "$DOCKER" images --filter "reference=$MCP_BASE_REPO" --format '{{.Repository}}:{{.Tag}}' \
    | grep -vxF "$image" | xargs -r "$DOCKER" image rm >/dev/null 2>&1 || true
  log "MCP base image $image built, saved to $(archive)"
  echo "$image"
}

case "${1:-}" in
  --ref) ref ;;
  --archive) archive ;;
  *) main ;;
esac
