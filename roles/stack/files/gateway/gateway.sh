#!/usr/bin/env bash
# The gateway's entry point: keep nginx's upstreams equal to what Docker's DNS says.
# nginx.conf marks each route with a comment "# route NAME PORT" and includes
# /tmp/gateway/NAME.conf in that route's upstream; this script writes those files from
# `getent ahostsv4 tasks.NAME` (one line per task address, passive failure marking per
# replica) and reloads nginx (gracefully) when an address set changes.
#
# `gateway auth`: the gateway's auth service instead. It writes $GATEWAY_MAP (default
# /dev/shm/clients.map: memory only, gone with the container), the tokens it accepts, from
# the secrets it mounts: the clients map (inline tokens and the collection's check token)
# and, per client whose token is a secrets_list entry, gateway_token.CLIENT and
# gateway_token_previous.CLIENT. Then it runs nginx, which answers the gateway's /check. A
# token file that holds no valid token is skipped, and the log names the client, never the
# value.
set -u
conf=${GATEWAY_CONF:-/etc/nginx/nginx.conf}
dir=/tmp/gateway
interval=${GATEWAY_DNS_INTERVAL:-2}
secrets=${GATEWAY_SECRETS:-/run/secrets}
map=${GATEWAY_MAP:-/dev/shm/clients.map}
mkdir -p "$dir"

# One map line per token file: "~^(?i:bearer) +TOKEN$" CLIENT; (. and + escaped). The value
# is the whole file, blanks around it trimmed (as the controller checks it).
token_lines() {
  local file client token escaped
  for file in "$secrets"/gateway_token.* "$secrets"/gateway_token_previous.*; do
    [ -f "$file" ] || continue
    case ${file##*/} in
      gateway_token_previous.*) client=${file##*/gateway_token_previous.} ;;
      *) client=${file##*/gateway_token.} ;;
    esac
    token=$(<"$file")
    token=${token#"${token%%[![:space:]]*}"}
    token=${token%"${token##*[![:space:]]}"}
    if [[ ! $client =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || [[ ! $token =~ ^[A-Za-z0-9._~+/-]+=*$ ]] \
      || [ "${#token}" -lt 32 ] || [ "${#token}" -gt 200 ]; then
      echo "gateway auth: ${file##*/} (client $client) holds no token of 32 to 200 characters of A-Z a-z 0-9 . _ ~ + / - (then =): skipped" >&2
      continue
    fi
    escaped=${token//./\\.}
    escaped=${escaped//+/\\+}
    printf '"~^(?i:bearer) +%s$" %s;\n' "$escaped" "$client"
  done
}

if [ "${1:-}" = auth ]; then
  umask 077
  {
    if [ -f "$secrets/gateway_clients.map" ]; then cat "$secrets/gateway_clients.map"; fi
    token_lines
  } >"$map.new"
  mv "$map.new" "$map"
  echo "gateway auth: $(grep -c . "$map") tokens accepted"
  exec nginx -g 'daemon off;'
fi

routes() { sed -n 's/^ *# route \([a-z0-9_-]*\) \([0-9]*\)$/\1 \2/p' "$conf"; }

# Write the upstream files; print the address sets (to detect a change).
render() {
  local name port ips ip
  while read -r name port; do
    ips=$(getent ahostsv4 "tasks.$name" | awk '{print $1}' | sort -u | tr '\n' ' ')
    {
      if [ -n "$ips" ]; then
        for ip in $ips; do echo "server $ip:$port max_fails=2 fail_timeout=10s;"; done
      else
        echo "server 127.0.0.1:9;  # no task yet: 502 until one runs"
      fi
    } >"$dir/$name.conf.new"
    mv "$dir/$name.conf.new" "$dir/$name.conf"
    echo "$name=$ips"
  done < <(routes)
}

state=$(render)
echo "gateway: upstreams: $(echo "$state" | tr '\n' ';')"
nginx -g 'daemon off;' &
pid=$!
trap 'nginx -s quit; wait "$pid"; exit 0' TERM INT
while kill -0 "$pid" 2>/dev/null; do
  sleep "$interval" &
  wait $!
  new=$(render)
  if [ "$new" != "$state" ]; then
    state=$new
    echo "gateway: upstreams changed: $(echo "$state" | tr '\n' ';')"
    nginx -s reload
  fi
done
wait "$pid"
