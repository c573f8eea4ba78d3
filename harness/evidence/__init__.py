"""Evidence a person reads after a run without re-running it: what the files under results/ hold.

Per test: the timeline as JSON lines and a table (`timeline_export.py`), restart latency
(`latency.py`), and for a failing test a diagnostics folder (`diagnostics.py`, with stack logs
cut to the test from `logs.py`); per run: latency percentiles and thresholds (`metrics.py`,
`chart.py`). Everything written goes through `redaction.py` first.

The pytest side that calls these lives in `harness/plugin/evidence_hooks.py`; the milestone
names in `harness/contract/milestones.py`; Allure steps and live progress of long waits in
`harness/testkit/` (`steps.py`, `progress.py`); the HTML report in
`harness/commands/html_report.py`.
"""
