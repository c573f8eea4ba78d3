# Sourced by run-local.sh and run-tests.sh: make .venv with the harness installed, once.
# Needs only Python >= 3.11 (override with PYTHON=/path/to/python3).

harness_bootstrap() {
  local root python stamp want
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  python=${PYTHON:-python3}
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found; install Python 3.11 or newer (or set PYTHON=...)" >&2
    return 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: $("$python" --version 2>&1) is too old; the harness needs Python 3.11 or newer" >&2
    return 1
  fi
  VENV=${HARNESS_VENV:-$root/.venv}
  stamp="$VENV/.harness-installed"
  want=$(cat "$root/pyproject.toml" | cksum | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV" >&2
    "$python" -m venv "$VENV" || return 1
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: installing the harness and its dependencies into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 &&
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[dev]" >&2 ||
      { echo "error: pip install failed (see above)" >&2; return 1; }
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
