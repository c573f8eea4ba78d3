#!/usr/bin/env bash
# Run the restart suites. Default: against the embedded reference stack, started and stopped
# by the harness, on 2 pytest-xdist workers (HARNESS_WORKERS=1 for one), results in ./results
# (HARNESS_RESULTS_DIR or --results-dir to change). Extra arguments go to pytest, e.g.
# `./run-local.sh -k restart`. `./run-local.sh --target cluster [--api-namespace NS]`
# runs against the current kubeconfig context instead (see harness/commands/cluster_run.py).
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
  # A cluster: port-forward, token, doctor, then the suites (harness/commands/cluster_run.py).
  exec python -m harness.commands.cluster_run "$@"
fi
# The embedded stack: the suites through `python -m harness run`, which leaves the results layout
# (junit.xml, summary.json, timeline/, diagnostics/ of failing tests, metrics.json) in ./results.
# HARNESS_WORKERS, not --workers: a bad value is then named as the variable the user set.
export HARNESS_WORKERS="${HARNESS_WORKERS:-2}"
exec python -m harness run "$@"
