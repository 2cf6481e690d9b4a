#!/usr/bin/env bash
# Ensure a Docker engine answers on this machine.
# Uses the running daemon if there is one; otherwise installs Debian's docker.io
# (if dockerd is missing) and starts dockerd in the background (no systemd here).
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

if "$DOCKER" info >/dev/null 2>&1; then
  log "Docker engine already running ($("$DOCKER" version --format '{{.Server.Version}}'))"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "no Docker engine on this machine: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  log "starting docker.service with systemd"
  systemctl start docker
else
  mkdir -p "$LAB_STATE_DIR"
  log "starting dockerd in the background (log: $LAB_STATE_DIR/dockerd.log)"
  nohup dockerd >"$LAB_STATE_DIR/dockerd.log" 2>&1 &
fi
lab_wait 60 "the Docker engine to answer" "$DOCKER" info
log "Docker engine started ($("$DOCKER" version --format '{{.Server.Version}}'))"
