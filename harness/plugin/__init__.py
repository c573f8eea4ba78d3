"""The pytest plugin: glue between pytest and the harness, and nothing else.

`configure` (the `pytest11` entry point: options, settings, the embedded stack's early start),
`fixtures` (the session's connections, the `compute_instance` factory), `cleanup` (a test's
instances deleted, the wait overlapped with the next test), `run_hooks` (shards, deadline,
SIGTERM, leak sweep, summary.json), `evidence_hooks` (timelines, diagnostics, metrics, Allure)
and `terminal_summary` (findings and retried passes). A new hook or fixture goes here.
"""
