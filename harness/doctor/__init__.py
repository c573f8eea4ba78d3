"""`python -m harness doctor`: preflight checks of an environment before any test runs.

Each check is one small function (`kubernetes_checks.py`, `operator_checks.py`,
`fulfillment_checks.py`) that returns a `Finding` (`model.py`): its id, a verdict (pass, warn,
fail, skip), the evidence it saw and the fix. `checks.py` lists them in order, `execution.py`
runs them, `context.py` holds what they share, `access.py` the permissions the suites need,
`output.py` prints the findings and `arguments.py` declares the options. A failing blocking
check makes the command exit 20 (environment not ready).

The command itself is `harness/commands/doctor_run.py`; the operator checks probe its webhooks
through `harness/clients/webhooks.py`.
"""
