#!/usr/bin/env bash
# Build the lab node base image without any container registry:
# debootstrap Debian 12 from the mirror this machine's apt already uses, import
# the tree as an image, tag it by a hash of this recipe. A second run with the
# same recipe finds the tag and returns at once.
# Prints the image reference on stdout (`image.sh --ref`: the reference only, no build).
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

LAB_PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,openssh-server,iproute2,iputils-ping,procps,ca-certificates,curl,gnupg

# The recipe is this script (settings included). The mirror is not part of it:
# any mirror of the same suite gives the same node.
recipe_hash() { { cat "$LAB_DIR/image.sh"; lab_recipe_common; } | sha256sum | cut -c1-12; }

main() {
  local tag image rootfs
  tag=$(recipe_hash)
  image="$LAB_IMAGE_REPO:$tag"
  if "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
    log "base image $image is cached (recipe unchanged)"
    echo "$image"
    return 0
  fi
  # Same apt sources as this machine (updates and security included), lists baked in.
  lab_debootstrap node "$LAB_PACKAGES"
  rootfs=$LAB_ROOTFS
  chroot "$rootfs" apt-get update -qq >/dev/null 2>&1 || log "apt-get update in the image failed; nodes will update at first use"

  # A node behaves like a cloud host: user ubuntu with passwordless sudo (as on Lambda),
  # SSH host keys made per node at first boot, a machine id per container.
  chroot "$rootfs" useradd --create-home --shell /bin/bash --groups sudo ubuntu
  printf 'ubuntu ALL=(ALL) NOPASSWD:ALL\n' >"$rootfs/etc/sudoers.d/90-ubuntu"
  chmod 0440 "$rootfs/etc/sudoers.d/90-ubuntu"
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$rootfs/etc/systemd/system/ssh.service.d/10-hostkeys.conf"
  printf 'PasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n' \
    >"$rootfs/etc/ssh/sshd_config.d/10-lab.conf"
  : >"$rootfs/etc/machine-id"
  # Units that have no meaning in a container and would leave systemd "degraded".
  local unit
  for unit in systemd-remount-fs.service getty@tty1.service console-getty.service \
    systemd-firstboot.service systemd-udevd.service sys-kernel-config.mount \
    sys-kernel-debug.mount sys-kernel-tracing.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # Docker mounts /proc/sys read-only; a host's is writable, and roles set sysctls. Remount
  # it early at boot. Only network-namespaced keys are this node's own: the sysctl.d files
  # Debian ships set host-wide keys (pid_max, protected links), so they are masked here
  # to keep a node from changing this machine's kernel.
  cat >"$rootfs/etc/systemd/system/lab-proc-sys-rw.service" <<'UNIT'
[Unit]
Description=Lab node: /proc/sys writable like on a host
DefaultDependencies=no
Before=systemd-sysctl.service sysinit.target

[Service]
Type=oneshot
ExecStart=/bin/mount -o remount,rw /proc/sys

[Install]
WantedBy=sysinit.target
UNIT
  mkdir -p "$rootfs/etc/systemd/system/sysinit.target.wants"
  ln -sf ../lab-proc-sys-rw.service "$rootfs/etc/systemd/system/sysinit.target.wants/lab-proc-sys-rw.service"
  local conf
  for conf in "$rootfs"/usr/lib/sysctl.d/*.conf; do
    [ -e "$conf" ] && ln -sf /dev/null "$rootfs/etc/sysctl.d/$(basename "$conf")"
  done
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb

  log "importing $image"
  tar -C "$rootfs" -c . | "$DOCKER" import \
    -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' \
    -c "LABEL $LAB_LABEL.base=$tag" - "$image" >/dev/null
  log "base image $image built"
  # Older recipes' images are stale: drop their tags (kept: the one just built).
  "$DOCKER" images --filter "label=$LAB_LABEL.base" --filter "reference=$LAB_IMAGE_REPO" \
    --format '{{.Repository}}:{{.Tag}}' \
    | grep -vxF "$image" | xargs -r "$DOCKER" image rm >/dev/null 2>&1 || true
  echo "$image"
}

if [ "${1:-}" = "--ref" ]; then
  # the image reference of the current recipe, built or not
  echo "$LAB_IMAGE_REPO:$(recipe_hash)"
  exit 0
fi
main "$@"
