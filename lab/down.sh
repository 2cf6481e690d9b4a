#!/usr/bin/env bash
# Tear the lab down: its node containers, their volumes, its networks, its SSH key
# and generated inventory. Only things carrying the lab's label are touched; the
# cached base image stays (remove it with `docker image rm` if you want it gone).
#   lab/down.sh [--nodes]
# --nodes: only the node containers and their disks go (a disaster that takes every host);
# the controller's side (networks, SSH key, CA, vault, secrets, state with its backups, inventory) stays, so
# lab/up.sh brings up bare hosts of the same names and addresses (playbooks/restore.yml).
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

if [ "${1:-}" = "--nodes" ]; then
  mapfile -t nodes < <("$DOCKER" ps -aq --filter "label=$LAB_LABEL=$LAB_NAME")
  (( ${#nodes[@]} )) && "$DOCKER" rm -f -v "${nodes[@]}" >/dev/null
  mapfile -t vols < <("$DOCKER" volume ls -q --filter "label=$LAB_LABEL=$LAB_NAME")
  (( ${#vols[@]} )) && "$DOCKER" volume rm "${vols[@]}" >/dev/null
  rm -f "$REPO_DIR"/.cache/facts/*"$LAB_NAME"-*
  log "removed ${#nodes[@]} node(s) and ${#vols[@]} disk(s); the lab's networks, keys, CA and secrets are kept"
  exit 0
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  log "no Docker engine answers: no lab containers to remove"
else
  mapfile -t nodes < <("$DOCKER" ps -aq --filter "label=$LAB_LABEL=$LAB_NAME")
  if (( ${#nodes[@]} )); then
    log "removing ${#nodes[@]} node container(s)"
    "$DOCKER" rm -f -v "${nodes[@]}" >/dev/null
  fi
  mapfile -t vols < <("$DOCKER" volume ls -q --filter "label=$LAB_LABEL=$LAB_NAME")
  if (( ${#vols[@]} )); then
    log "removing ${#vols[@]} volume(s)"
    "$DOCKER" volume rm "${vols[@]}" >/dev/null
  fi
  # base images of older recipes (the current one stays cached)
  current=$(bash "$LAB_DIR/image.sh" --ref)
  mapfile -t stale < <("$DOCKER" images --filter "label=$LAB_LABEL.base" --filter "reference=$LAB_IMAGE_REPO" \
    --format '{{.Repository}}:{{.Tag}}' | grep -vxF "$current")
  if (( ${#stale[@]} )); then
    log "removing ${#stale[@]} base image(s) of older recipes"
    "$DOCKER" image rm "${stale[@]}" >/dev/null
  fi
  mapfile -t nets < <("$DOCKER" network ls -q --filter "label=$LAB_LABEL=$LAB_NAME")
  if (( ${#nets[@]} )); then
    log "removing networks $LAB_NETWORK and $LAB_PRIVATE_NETWORK"
    "$DOCKER" network rm "${nets[@]}" >/dev/null
  fi
fi
rm -rf "$LAB_STATE_DIR/ssh" "$LAB_STATE_DIR/secrets" "$LAB_STATE_DIR/ca" "$LAB_STATE_DIR/vault-password" "$LAB_STATE_DIR/state" "$LAB_INVENTORY" \
  "$REPO_DIR/inventory/lab/group_vars/all/vault.yml"
# facts Ansible cached for the lab's nodes
rm -f "$REPO_DIR"/.cache/facts/*"$LAB_NAME"-*
log "lab down; the cached base image is kept ($("$DOCKER" images -q "$LAB_IMAGE_REPO" 2>/dev/null | wc -l) tag(s) of $LAB_IMAGE_REPO)"
