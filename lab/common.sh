#!/usr/bin/env bash
# shellcheck disable=SC2034  # settings used by the scripts that source this file
# Shared settings for the lab scripts. Sourced, never run.
# Everything the lab creates carries the label below, so teardown removes only what it made.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
LAB_STATE_DIR=${LAB_STATE_DIR:-$REPO_DIR/.lab}
LAB_LABEL=io.sophia.lambda_swarm.lab
LAB_NAME=${LAB_NAME:-lswarm}
# Two networks, as a Lambda host has two addresses: LAB_NETWORK is the "public" one (the
# default route, ansible_host, SSH, the gateway's clients); LAB_PRIVATE_NETWORK the "private"
# one the swarm, its overlays and the firewall's peer rules use (swarm_private_networks).
LAB_NETWORK=${LAB_NETWORK:-${LAB_NAME}-net}
LAB_SUBNET=${LAB_SUBNET:-172.31.240.0/24}
LAB_PRIVATE_NETWORK=${LAB_PRIVATE_NETWORK:-${LAB_NAME}-private}
LAB_PRIVATE_SUBNET=${LAB_PRIVATE_SUBNET:-172.31.250.0/24}
LAB_IMAGE_REPO=${LAB_IMAGE_REPO:-sophia-lambda-swarm/node}
LAB_INVENTORY=${LAB_INVENTORY:-$REPO_DIR/inventory/lab/hosts.yml}
DOCKER=${DOCKER:-docker}

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# The capabilities a node container gets: every one but SYS_RESOURCE, which this
# machine's bounding set lacks (so --privileged fails). One capability a line in
# lab/node-capabilities.txt, the only place the list is kept.
lab_caps() { grep -Ev '^\s*(#|$)' "$LAB_DIR/node-capabilities.txt"; }

# The flags that make a container behave like a host: systemd as PID 1 and room
# for its own Docker engine. Molecule's platforms use the same list (Makefile
# exports it as LAB_NODE_CAPS).
lab_node_flags() {
  local cap
  for cap in $(lab_caps); do printf -- '--cap-add\n%s\n' "$cap"; done
  printf -- '%s\n' --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock --stop-signal SIGRTMIN+3
}

# Bounded wait: lab_wait SECONDS DESCRIPTION CMD...
lab_wait() {
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= limit )); then die "timed out after ${limit}s waiting for $what"; fi
    sleep 1
  done
}

# The Debian suite of the lab's images (the node, and the MCP servers' base).
LAB_SUITE=${LAB_SUITE:-bookworm}

# The first Debian mirror this machine's apt is configured with for the suite.
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # deb822: take URIs: of a stanza whose Suites: has the suite itself
    uri=$(awk -v suite="$LAB_SUITE" '
      /^[[:space:]]*$/ { if (u != "" && s) { print u; exit } u=""; s=0; next }
      /^URIs:/ { u=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) s=1 }
      END { if (u != "" && s) print u }' "$f" | head -n1)
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk -v suite="$LAB_SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  return 1
}

# A rootfs being built (lab_apt_sources ROOTFS MIRROR) gets this machine's apt sources
# (updates and security included) when they are for LAB_SUITE; otherwise debootstrap's own
# line for the mirror it used stays.
lab_apt_sources() {
  local sources=/etc/apt/sources.list.d/debian.sources
  if [ -r "$sources" ] && grep -Eq "^Suites:.*[[:space:]]$LAB_SUITE([[:space:]]|\$)" "$sources"; then
    cp "$sources" "$1/etc/apt/sources.list.d/debian.sources"
    : >"$1/etc/apt/sources.list"
  else
    printf 'deb %s %s main\n' "$2" "$LAB_SUITE" >"$1/etc/apt/sources.list"
  fi
}

# A Debian root for one of the lab's images (lab_debootstrap NAME PACKAGES): debootstrap's
# minbase with PACKAGES, from this machine's mirror (or LAB_MIRROR), in a temporary folder that
# is removed when the script exits, with this machine's apt sources for the suite. Sets
# LAB_ROOTFS; the log is $LAB_STATE_DIR/NAME-debootstrap.log.
lab_debootstrap() {
  local name=$1 packages=$2 mirror
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  mirror=${LAB_MIRROR:-$(apt_mirror)} \
    || die "no Debian $LAB_SUITE mirror found in /etc/apt/sources.list*; add one or set LAB_MIRROR"
  mkdir -p "$LAB_STATE_DIR"
  LAB_ROOTFS=$(mktemp -d "$LAB_STATE_DIR/$name.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$LAB_ROOTFS'" EXIT
  log "debootstrap $LAB_SUITE (minbase + $packages) for the $name image"
  debootstrap --variant=minbase --include="$packages" "$LAB_SUITE" "$LAB_ROOTFS" "$mirror" \
    >"$LAB_STATE_DIR/$name-debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $LAB_STATE_DIR/$name-debootstrap.log"
  lab_apt_sources "$LAB_ROOTFS" "$mirror"
}

# What the image recipes take from this file: the suite and the functions above.
lab_recipe_common() {
  echo "$LAB_SUITE"
  declare -f apt_mirror lab_apt_sources lab_debootstrap
}
