#!/usr/bin/env bash
# The project's own tests: lint, architecture contracts, unit and component tests.
# Extra arguments go to pytest, e.g. `./run-tests.sh -k apiserver`. Three xdist workers by default
# (HARNESS_TEST_WORKERS): most of the long tests wait on stacks rather than burn CPU. Tests go
# out two at a time (--maxschedchunk), so the long ones, collected first, spread over the workers.
set -uo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
harness_bootstrap || exit 1

status=0
# The real Kubernetes control plane the real-tier tests start (tools/controlplane/) and grpcurl,
# the fulfillment tests' third-party client (tools/grpcurl/), each cached per pin: minutes the
# first time, nothing afterwards. Without them those tests fail, never skip.
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
echo "== control plane" >&2
python -m harness build-control-plane || status=1
echo "== grpcurl" >&2
python -m harness build-grpcurl || status=1
echo "== ruff" >&2
ruff check --quiet . && ruff format --check --quiet . || status=1
echo "== import contracts" >&2
lint-imports --no-cache >/dev/null || { lint-imports --no-cache; status=1; }
echo "== tests" >&2
python -m pytest tests -n "${HARNESS_TEST_WORKERS:-3}" --maxschedchunk 2 "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests; that is a failure, not a pass" >&2
fi
[ "$code" -eq 0 ] || status=1
exit $status
