#!/usr/bin/env bash
# Bring up the lab: N managers + M workers, each a container that behaves like a
# cloud host (systemd as PID 1, a public and a private address as a Lambda host has, real
# SSH, room for its own Docker engine), and write inventory/lab/hosts.yml.
#   lab/up.sh [MANAGERS] [WORKERS]     defaults 3 1 (or LAB_MANAGERS / LAB_WORKERS)
# Nodes that already run with the current image are kept, so a second run is quick.
# shellcheck source=lab/common.sh
source "$(dirname "$0")/common.sh"

managers=${1:-${LAB_MANAGERS:-3}}
workers=${2:-${LAB_WORKERS:-1}}
[[ $managers =~ ^[0-9]+$ && $workers =~ ^[0-9]+$ ]] || die "usage: lab/up.sh [MANAGERS] [WORKERS] (numbers)"
(( managers >= 1 )) || die "the lab needs at least one manager"
(( managers + workers <= 9 )) || die "at most 9 nodes on this machine"

started=$SECONDS
"$LAB_DIR/engine.sh"
image=$("$LAB_DIR/image.sh")
ssh_dir="$LAB_STATE_DIR/ssh"
inventory=$LAB_INVENTORY

# SSH key pair of this lab, made once.
mkdir -p "$ssh_dir"
chmod 0700 "$ssh_dir"
if [ ! -f "$ssh_dir/id_ed25519" ]; then
  log "generating the lab SSH key pair ($ssh_dir/id_ed25519)"
  ssh-keygen -q -t ed25519 -N '' -C "lambda-swarm-lab" -f "$ssh_dir/id_ed25519"
fi

for net in "$LAB_NETWORK=$LAB_SUBNET" "$LAB_PRIVATE_NETWORK=$LAB_PRIVATE_SUBNET"; do
  [[ ${net#*=} == */24 ]] || die "the lab's subnets must be /24s (got ${net#*=})"
  if ! "$DOCKER" network inspect "${net%%=*}" >/dev/null 2>&1; then
    log "creating network ${net%%=*} (${net#*=})"
    "$DOCKER" network create --label "$LAB_LABEL=$LAB_NAME" --subnet "${net#*=}" "${net%%=*}" >/dev/null
  fi
done

names=()
for i in $(seq 1 "$managers"); do names+=("$LAB_NAME-m$i"); done
for i in $(seq 1 "$workers"); do names+=("$LAB_NAME-w$i"); done

# Nodes of this lab that are no longer wanted (a smaller lab than last time) go.
for old in $("$DOCKER" ps -a --filter "label=$LAB_LABEL=$LAB_NAME" --format '{{.Names}}'); do
  if [[ " ${names[*]} " != *" $old "* ]]; then
    log "removing $old (not in a ${managers}+${workers} lab)"
    "$DOCKER" rm -f -v "$old" >/dev/null
    "$DOCKER" volume rm "$old-docker" >/dev/null 2>&1 || true
  fi
done

# Node addresses: .11.. for managers, .21.. for workers, in each of the lab's /24s.
#   node_ip NODE [SUBNET]   (default: the public LAB_SUBNET)
node_ip() {
  local subnet=${2:-$LAB_SUBNET} n=${1##*-}
  local prefix=${subnet%.*}
  case $n in
    m*) echo "$prefix.$((10 + ${n#m}))" ;;
    w*) echo "$prefix.$((20 + ${n#w}))" ;;
  esac
}

mapfile -t flags < <(lab_node_flags)
for name in "${names[@]}"; do
  # kept: a running node of the current image on both networks
  if [ "$("$DOCKER" inspect -f "{{.State.Running}} {{.Config.Image}} {{with index .NetworkSettings.Networks \"$LAB_PRIVATE_NETWORK\"}}private{{end}}" "$name" 2>/dev/null)" = "true $image private" ]; then
    log "$name is running"
    continue
  fi
  if "$DOCKER" inspect "$name" >/dev/null 2>&1 && ! "$DOCKER" inspect -f \
    "{{with index .NetworkSettings.Networks \"$LAB_PRIVATE_NETWORK\"}}private{{end}}" "$name" | grep -q private; then
    # a node of a lab from before the private network: its engine's swarm advertises the
    # public address; its disk goes with it, so the swarm is formed again on the private one
    log "$name has no private address: replaced with a fresh disk"
    "$DOCKER" rm -f -v "$name" >/dev/null
    "$DOCKER" volume rm "$name-docker" >/dev/null 2>&1 || true
  fi
  "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
  "$DOCKER" volume create --label "$LAB_LABEL=$LAB_NAME" "$name-docker" >/dev/null
  log "starting $name"
  # a fixed private address, as a cloud host has: it survives a restart of the node;
  # `reboot` inside a node ends its container and the restart policy boots it again
  "$DOCKER" create --name "$name" --hostname "$name" \
    --label "$LAB_LABEL=$LAB_NAME" --network "$LAB_NETWORK" --ip "$(node_ip "$name")" \
    --restart unless-stopped \
    "${flags[@]}" -v "$name-docker:/var/lib/docker" "$image" >/dev/null
  # the private address (fixed too); the public network, attached first, keeps the default route
  "$DOCKER" network connect --ip "$(node_ip "$name" "$LAB_PRIVATE_SUBNET")" "$LAB_PRIVATE_NETWORK" "$name"
  # A machine id of its own, as a cloud host has (systemd keeps a preset one).
  printf '%s\n' "$(tr -d '-' </proc/sys/kernel/random/uuid)" >"$LAB_STATE_DIR/machine-id"
  "$DOCKER" cp "$LAB_STATE_DIR/machine-id" "$name:/etc/machine-id"
  "$DOCKER" start "$name" >/dev/null
done

node_ready() {
  local state
  state=$("$DOCKER" exec "$1" systemctl is-system-running 2>/dev/null) || true
  [[ $state == running || $state == degraded ]] || return 1
  "$DOCKER" exec "$1" test -s /etc/ssh/ssh_host_ed25519_key.pub
}
pubkey=$(cat "$ssh_dir/id_ed25519.pub")
: >"$ssh_dir/known_hosts.new"
declare -A addr
for name in "${names[@]}"; do
  lab_wait 90 "$name to boot" node_ready "$name"
  state=$("$DOCKER" exec "$name" systemctl is-system-running 2>/dev/null || true)
  [ "$state" = running ] || log "warning: $name systemd state is $state ($("$DOCKER" exec "$name" systemctl --failed --no-legend --plain | awk '{print $1}' | xargs))"
  "$DOCKER" exec -i "$name" sh -c 'install -d -m 0700 -o ubuntu -g ubuntu /home/ubuntu/.ssh &&
    cat >/home/ubuntu/.ssh/authorized_keys && chown ubuntu:ubuntu /home/ubuntu/.ssh/authorized_keys &&
    chmod 0600 /home/ubuntu/.ssh/authorized_keys' <<<"$pubkey"
  addr[$name]=$("$DOCKER" inspect -f "{{(index .NetworkSettings.Networks \"$LAB_NETWORK\").IPAddress}}" "$name")
  printf '%s %s\n' "${addr[$name]}" "$("$DOCKER" exec "$name" cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1,2)" \
    >>"$ssh_dir/known_hosts.new"
done
mv "$ssh_dir/known_hosts.new" "$ssh_dir/known_hosts"

# Stand-in GPUs (there is no GPU here): the workers named in LAB_GPUS (node suffix=count,
# default two on w1 and one on w2) get lab/nvidia-standin's nvidia-container-toolkit package
# (stand-ins of nvidia-smi, nvidia-ctk, nvidia-container-cli and the runtime) and their GPUs in
# /etc/lab-gpus.json. Every other node has none.
gpu_deb=$(bash "$LAB_DIR/nvidia-standin/build-deb.sh" "$LAB_STATE_DIR/nvidia-standin")
declare -A gpus=()
IFS=, read -r -a gpu_specs <<<"${LAB_GPUS-w1=2,w2=1}"
for spec in "${gpu_specs[@]}"; do
  [[ $spec =~ ^(w[0-9]+)=([0-9]+)$ ]] || die "LAB_GPUS: '$spec' is not NODE=COUNT (e.g. w1=2,w2=1)"
  gpus[$LAB_NAME-${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done
for name in "${names[@]}"; do
  count=${gpus[$name]:-0}
  if (( count == 0 )); then
    "$DOCKER" exec "$name" rm -f /etc/lab-gpus.json
    continue
  fi
  n=${name##*-w}
  uuids=$(for i in $(seq 0 $((count - 1))); do printf '"GPU-1ab0%04x-0000-4000-8000-%012x"\n' "$n" "$i"; done | paste -sd, -)
  printf '{"model": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "550.127.05", "cuda": "12.4", "uuids": [%s]}\n' \
    "$uuids" | "$DOCKER" exec -i "$name" sh -c 'cat >/etc/lab-gpus.json'
  # the package's hash as a stamp on the node: an edited stand-in reaches nodes that are kept
  stamp=$(sha256sum "$gpu_deb" | cut -c1-64)
  if [ "$("$DOCKER" exec "$name" cat /var/lib/lab-nvidia-standin.sha256 2>/dev/null)" != "$stamp" ]; then
    "$DOCKER" cp "$gpu_deb" "$name:/tmp/nvidia-standin.deb"
    # keep the config.toml the docker role edited (a conffile): no prompt, no overwrite
    "$DOCKER" exec "$name" dpkg -i --force-confdef --force-confold /tmp/nvidia-standin.deb >/dev/null
    "$DOCKER" exec "$name" sh -c "echo $stamp >/var/lib/lab-nvidia-standin.sha256"
    log "$name: stand-in GPU stack installed, $count GPU(s)"
  fi
done

# Facts Ansible cached for earlier nodes of the same names describe other containers.
for name in "${names[@]}"; do rm -f "$REPO_DIR/.cache/facts/$name" "$REPO_DIR"/.cache/facts/*_"$name"; done

# The base image of the MCP servers and the gateway (built here, loaded by the stack role)
mcp_base=$(bash "$LAB_DIR/mcp-base.sh")

# The inventory (generated, git-ignored: it holds this machine's addresses).
{
  echo "---"
  echo "# Generated by lab/up.sh on $(date -u +%FT%TZ); lab/down.sh removes it."
  echo "all:"
  echo "  vars:  # for the controller's plays too (preflight, validate run on localhost)"
  echo "    lab_repo_dir: $REPO_DIR"
  echo "    lab_state_dir: $LAB_STATE_DIR"
  # this machine on the lab bridge: Docker gives the bridge the subnet's first address
  echo "    lab_controller_address: $(python3 -c 'import ipaddress, sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))' "$LAB_SUBNET")"
  # the swarm's network (swarm_private_networks in group_vars/all/profile.yml)
  echo "    lab_private_network: $LAB_PRIVATE_SUBNET"
  echo "    lab_mcp_base_image: $mcp_base"
  echo "    lab_mcp_base_archive: $(bash "$LAB_DIR/mcp-base.sh" --archive)"
  # literal paths (no templates), so tools that read the inventory untemplated (testinfra) connect
  echo "    ansible_ssh_private_key_file: $ssh_dir/id_ed25519"
  echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$ssh_dir/known_hosts"
  echo "  children:"
  echo "    lab_nodes:  # connection settings: group_vars/lab_nodes/ and the two keys above"
  echo "      children:"
  echo "        managers:"
  echo "          hosts:"
  # stateful services (ai_memory's volume) are pinned to the node labelled mcp.data=true:
  # the first worker, or the first manager when there are no workers
  data_node=$LAB_NAME-w1
  (( workers > 0 )) || data_node=$LAB_NAME-m1
  node_line() {
    local extra=""
    [ "$1" = "$data_node" ] && extra=", swarm_node_labels: {mcp.data: \"true\"}"
    echo "            $1: {ansible_host: ${addr[$1]}$extra}"
  }
  for i in $(seq 1 "$managers"); do node_line "$LAB_NAME-m$i"; done
  echo "        workers:"
  if (( workers == 0 )); then echo "          hosts: {}"; else echo "          hosts:"; fi
  for i in $(seq 1 "$workers"); do node_line "$LAB_NAME-w$i"; done
} >"$inventory"

# the lab's vault and sample secrets (made once per lab)
bash "$LAB_DIR/secrets.sh"

ssh_ok() {
  ssh -i "$ssh_dir/id_ed25519" -o BatchMode=yes -o ConnectTimeout=3 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$ssh_dir/known_hosts" \
    "ubuntu@$1" sudo -n true
}
for name in "${names[@]}"; do
  lab_wait 30 "SSH to $name (${addr[$name]})" ssh_ok "${addr[$name]}"
done
log "lab up: $managers manager(s) + $workers worker(s) reachable over SSH in $((SECONDS - started))s; inventory: $inventory"
