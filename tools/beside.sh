#!/usr/bin/env bash
# Run the checks that need no lab beside the lab's bring-up and first converge, which spend much
# of their time waiting (apt, image pulls, Swarm converging): the two share this machine's cores.
#   tools/beside.sh LOG -- BACKGROUND... -- FOREGROUND...
# BACKGROUND's output goes to LOG and is printed once both are done (so the two stay readable);
# the exit status is the foreground's, else the background's.
set -uo pipefail
log=$1
shift 2
background=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  background+=("$1")
  shift
done
shift
"${background[@]}" >"$log" 2>&1 &
pid=$!
"$@"
rc=$?
wait "$pid"
brc=$?
printf '\n==> the checks run beside the lab (%s)\n' "$log"
cat "$log"
printf '<== the checks run beside the lab: exit %s\n' "$brc"
[ "$rc" -ne 0 ] && exit "$rc"
exit "$brc"
