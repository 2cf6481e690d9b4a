#!/usr/bin/env bash
# promtool from Debian's prometheus package, unpacked under .cache (nothing installed or
# started on this machine), then: promtool check rules + promtool test rules.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/prometheus
if [ ! -x "$dir/usr/bin/promtool" ]; then
  mkdir -p "$dir/debs"
  (cd "$dir/debs" && apt-get download prometheus >/dev/null 2>&1) || {
    apt-get update -qq && (cd "$dir/debs" && apt-get download prometheus >/dev/null)
  }
  debs=("$dir"/debs/prometheus_*.deb)
  dpkg-deb -x "${debs[0]}" "$dir"
fi
"$dir/usr/bin/promtool" check rules roles/monitoring/files/rules/*.yml
"$dir/usr/bin/promtool" test rules tests/prometheus/*_test.yml
