#!/usr/bin/env bash
# Set up everything OpsCenter needs on a Debian machine, then leave a ready .venv.
# Safe to run again: each step checks first and does nothing when already done.
# Sourced by ./run.sh and ./test.sh; prints what it does on stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
say() { printf 'opscenter setup: %s\n' "$*" >&2; }

# --- 1. Debian packages: Qt WebEngine offscreen, a real window under Xvfb, sound, fonts -------------
debian_packages() {
  local wanted=(libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfreetype6 libfontconfig1 libdbus-1-3
    libnspr4 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxkbfile1 xvfb libxcb-cursor0
    libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-render-util0
    libxcb-image0 libxcb-randr0 libxshmfence1 libxi6 libpulse0 fonts-dejavu-core ca-certificates)
  # libasound2 was renamed libasound2t64 in Debian 13.
  if apt-cache show libasound2t64 >/dev/null 2>&1; then wanted+=(libasound2t64); else wanted+=(libasound2); fi
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo=(sudo); else
      say "missing Debian packages and no root: apt-get install ${missing[*]}"; return 1; fi
  fi
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- 2. A Python that PySide6 does not crash on ------------------------------------------------------
# PySide6 6.12.0 crashes on CPython 3.10/3.11. Prefer 3.13/3.12 (PySide6 6.12); on a machine that has
# only 3.11, pyproject's markers install PySide6 6.11.3 instead, which is safe there.
python_ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
find_python() {
  local candidates=()
  [ -n "${OPSCENTER_PYTHON:-}" ] && candidates+=("$OPSCENTER_PYTHON")
  candidates+=(python3.13 python3.12)
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  for v in 3.13 3.12; do
    for p in "$pyenv_root"/versions/$v*/bin/python3; do [ -x "$p" ] && candidates+=("$p"); done
  done
  candidates+=(python3)
  for c in "${candidates[@]}"; do
    local path; path="$(command -v "$c" 2>/dev/null || true)"
    [ -n "$path" ] && python_ok "$path" && { echo "$path"; return 0; }
  done
  return 1
}

ensure_python() {
  if ! PY="$(find_python)"; then
    say "no Python >= 3.11 with venv; installing Debian's python3 and python3-venv"
    local sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3 python3-venv >/dev/null
    PY="$(find_python)"
  fi
}

# --- 3. The virtual environment ----------------------------------------------------------------------
ensure_venv() {
  local want; want="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [ -x "$VENV/bin/python" ]; then
    local have; have="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"
    if [ "$have" != "$want" ]; then say "rebuilding .venv (Python $have -> $want)"; rm -rf "$VENV"; fi
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating .venv with $PY (Python $want)"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.opscenter-installed" digest
  digest="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    say "installing OpsCenter and its dependencies into .venv"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]"
    echo "$digest" > "$stamp"
  fi
}

if command -v apt-get >/dev/null 2>&1; then debian_packages; fi
ensure_python
ensure_venv
