"""`python -m harness doctor`: preflight checks of an environment before any test runs.

Each check is one small function (`kubernetes.py`, `operator.py`, `fulfillment.py`) that returns
a `Finding`: its id, a verdict (pass, warn, fail, skip), the evidence it saw and the fix. A
failing blocking check makes the command exit 20 (environment not ready).
"""
