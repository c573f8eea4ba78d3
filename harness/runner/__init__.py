"""One run of the suites: its bookkeeping inside each pytest process, and `merge`.

shard.py       deterministic shard selection by test id
outcomes.py    per-test outcomes and counts from pytest's reports
verdict.py     one verdict and exit code from everything a run saw
summary.py     summary.json: write, read, combine
resultsdir.py  a fresh results directory (refuse foreign files, replace an old layout)
environment.py environment.json: versions, target, image digests where known
labels.py      run/worker/test labels on every object a run creates
ledger.py      the instances a process created, and which tests failed
sweep.py       session-end leak sweep (and the objects kept for failing tests)
deadline.py    when to stop starting tests; the hard stop before the deadline
interrupt.py   SIGTERM/SIGINT: stop starting tests, interrupt the running one, clean up
merge.py       `python -m harness merge`: shards' layouts into one
junit.py       merging the shards' JUnit XML reports

The hooks that tie these into pytest are `harness/plugin/run_hooks.py` (registered by
`harness/plugin/configure.py`); `python -m harness run` (pytest in a child process, signals
forwarded) is `harness/commands/suite_run.py`.
"""
