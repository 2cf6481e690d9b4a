#!/usr/bin/env bash
# Run one stage of a make target and print how long it took.
#   tools/stage.sh NAME COMMAND...
set -uo pipefail
name=$1
shift
start=$(date +%s)
printf '\n==> stage %s\n' "$name"
"$@"
rc=$?
printf '<== stage %s: %ss (exit %s)\n' "$name" "$(( $(date +%s) - start ))" "$rc"
[ -n "${STAGE_TIMES:-}" ] && printf '%s\t%s\t%s\n' "$name" "$(( $(date +%s) - start ))" "$rc" >>"$STAGE_TIMES"
exit "$rc"
