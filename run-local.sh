#!/usr/bin/env bash
# Run the restart suites. Default: against the embedded reference stack, started and stopped
# by the harness, on 2 pytest-xdist workers (HARNESS_WORKERS=1 for one). Extra arguments go to
# pytest, e.g. `./run-local.sh -k restart`. `./run-local.sh --target cluster [--api-namespace NS]`
# runs against the current kubeconfig context instead (see harness/clusterrun.py).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
harness_bootstrap
target=${HARNESS_TARGET:-embedded}
previous=
for arg in "$@"; do
  case "$previous=$arg" in
    --target=cluster | *=--target=cluster) target=cluster ;;
    --target=embedded | *=--target=embedded) target=embedded ;;
  esac
  previous=$arg
done
if [ "$target" = cluster ]; then
  # A cluster: port-forward, token, doctor, then the suites (harness/clusterrun.py).
  exec python -m harness.clusterrun "$@"
fi
workers=${HARNESS_WORKERS:-2}
if [ "$workers" -gt 1 ] 2>/dev/null; then
  exec python -m pytest suites -n "$workers" "$@"
fi
exec python -m pytest suites "$@"
