#!/usr/bin/env bash
# Set up (first time) and start the OpsCenter wall on the embedded demo feed.
#   ./run.sh                      the wall, normal scenario
#   ./run.sh run --scenario flood New Year's Eve-like flood of alerts
#   ./run.sh screenshot out.png   run briefly and save a PNG
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${1:-run}" = "run" ]; then
  echo "opscenter: no display found; start one (e.g. 'Xvfb :99 & export DISPLAY=:99') or use './run.sh screenshot out.png'" >&2
fi
exec .venv/bin/opscenter "$@"
