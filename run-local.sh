#!/usr/bin/env bash
# Run the restart suites. Default: against the embedded reference stack, started and stopped
# by the harness, on 2 pytest-xdist workers (HARNESS_WORKERS=1 for one). Extra arguments go to
# pytest, e.g. `./run-local.sh -k restart` or `./run-local.sh --target cluster --api-address ...`.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
harness_bootstrap
workers=${HARNESS_WORKERS:-2}
if [ "$workers" -gt 1 ] 2>/dev/null; then
  exec python -m pytest suites -n "$workers" "$@"
fi
exec python -m pytest suites "$@"
