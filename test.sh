#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, offscreen. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
export QT_QPA_PLATFORM=offscreen QT_API=pyside6
exec .venv/bin/python -m pytest "$@"
