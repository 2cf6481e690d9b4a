#!/usr/bin/env bash
# Run the checks that need no lab beside the lab's bring-up and first converge, which spend much
# of their time waiting (apt, image pulls, Swarm converging): the two share this machine's cores.
#   tools/beside.sh LOG -- BACKGROUND... -- FOREGROUND...
# BACKGROUND runs at a lower CPU priority (nice), so the lab's bounded waits keep their pace,
# in a process group of its own, which is stopped with this script (Ctrl-C, a cancelled CI) or
# as soon as the foreground fails. Its output goes to LOG and is printed once both are done (so
# the two stay readable); the exit status is the foreground's, else the background's.
set -uo pipefail
log=$1
shift 2
background=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  background+=("$1")
  shift
done
shift
setsid nice -n 10 "${background[@]}" >"$log" 2>&1 &
pid=$!
stop_background() {
  kill -TERM -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
show() {
  printf '\n==> the checks run beside the lab (%s)\n' "$log"
  cat "$log"
  printf '<== the checks run beside the lab: exit %s\n' "$1"
}
trap 'stop_background; show stopped; exit 130' INT TERM
"$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  stop_background
  show "stopped (the lab failed)"
  exit "$rc"
fi
wait "$pid"
brc=$?
show "$brc"
exit "$brc"
