#!/usr/bin/env bash
# Build the lab's base image for MCP servers and the gateway on this machine's engine, and
# save it as a tarball the stack role loads on the build node (nothing is pulled).
#
# A Debian root of its own, not the node image: debootstrap's minbase with Python, its venv
# module and the certificate authorities, without apt's lists and caches, documentation or
# locales (about 130 MB where the node image plus venv was 513 MB). Every build pushes its
# base layer to the registry once and every node pulls it, so its size is time spent on
# every fresh deployment. The certificate authorities this machine trusts go in too, so
# builds on lab nodes reach the package registries the way this machine does; the apt
# sources are this machine's, so a Dockerfile's apt-get update works as on any Debian image.
# Cached by a hash of this recipe. Prints the image reference; `--ref` prints it without
# building, `--archive` the tarball's path.
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

MCP_BASE_REPO=${MCP_BASE_REPO:-sophia-lambda-swarm/mcp-base}
MCP_BASE_PACKAGES=python3,python3-venv,ca-certificates

recipe_hash() {
  { cat "$LAB_DIR/mcp-base.sh"; lab_recipe_common; } | sha256sum | cut -c1-12
}

ref() { echo "$MCP_BASE_REPO:$(recipe_hash)"; }
archive() { echo "$REPO_DIR/.cache/images/mcp-base-$(recipe_hash).tar"; }

main() {
  local image rootfs
  image=$(ref)
  if "$DOCKER" image inspect "$image" >/dev/null 2>&1 && [ -s "$(archive)" ]; then
    log "MCP base image $image is cached (recipe unchanged)"
    echo "$image"
    return 0
  fi
  if ! "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
    lab_debootstrap mcp-base "$MCP_BASE_PACKAGES"
    rootfs=$LAB_ROOTFS
    # the machine's own extra authorities, read at build time (never committed)
    find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$rootfs/usr/local/share/ca-certificates/" \; \
      2>/dev/null || true
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the MCP base"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    log "importing $image"
    tar -C "$rootfs" -c . | "$DOCKER" import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      -c 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
      -c 'ENV UV_NATIVE_TLS=1' \
      -c 'CMD ["python3"]' \
      -c "LABEL $LAB_LABEL.base=mcp" - "$image" >/dev/null
  fi
  mkdir -p "$REPO_DIR/.cache/images"
  rm -f "$REPO_DIR"/.cache/images/mcp-base-*.tar
  # saved aside, then renamed: an interrupted save never passes for the cached archive
  "$DOCKER" save "$image" -o "$(archive).partial"
  mv "$(archive).partial" "$(archive)"
  "$DOCKER" images --filter "reference=$MCP_BASE_REPO" --format '{{.Repository}}:{{.Tag}}' \
    | grep -vxF "$image" | xargs -r "$DOCKER" image rm >/dev/null 2>&1 || true
  log "MCP base image $image ready, saved to $(archive)"
  echo "$image"
}

case "${1:-}" in
  --ref) ref ;;
  --archive) archive ;;
  *) main ;;
esac
