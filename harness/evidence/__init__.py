"""Evidence a person reads after a run without re-running it (issue 5).

Per test: the timeline (`timeline.py`), restart latency (`latency.py`), and for failing tests a
diagnostics folder (`diagnostics.py`, with stack logs from `logs.py`); per run: latency
percentiles and thresholds (`metrics.py`, `chart.py`); Allure steps and attachments
(`steps.py`); live progress of long waits (`progress.py`); the HTML report (`report.py`).
Everything written goes through `redaction.py` first. `hooks.py` is the pytest side.
"""
