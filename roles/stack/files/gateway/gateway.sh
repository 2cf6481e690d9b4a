#!/usr/bin/env bash
# The gateway's entry point: keep nginx's upstreams equal to what Docker's DNS says.
# nginx.conf marks each route with a comment "# route NAME PORT" and includes
# /tmp/gateway/NAME.conf in that route's upstream; this script writes those files from
# `getent ahostsv4 tasks.NAME` (one line per task address, passive failure marking per
# replica) and reloads nginx (gracefully) when an address set changes.
set -u
conf=${GATEWAY_CONF:-/etc/nginx/nginx.conf}
dir=/tmp/gateway
interval=${GATEWAY_DNS_INTERVAL:-2}
mkdir -p "$dir"

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
