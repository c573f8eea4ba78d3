#!/usr/bin/env bash
# Run the restart suites. Default: against the embedded reference stack, started and stopped
# by the harness. Extra arguments go to pytest, e.g. `./run-local.sh -k restart -n 2` or
# `./run-local.sh --target cluster --api-address ...`.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
harness_bootstrap
exec python -m pytest suites "$@"
