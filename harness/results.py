"""The one results layout every way of running writes (local, CI, in-cluster Job).

```
<results-dir>/
  junit.xml            pytest's JUnit report
  allure-results/      allure-pytest's raw results (input of `python -m harness report`)
  allure-report/       the HTML report Allure Report 3 builds from them
  timeline/            one JSON-lines file per test: watched events and fulfillment API calls
  diagnostics/         one folder per failing test: objects, events, logs, timeline, request log
  metrics.json         restart latency per phase (p50/p90/p99/max) over every restart of the run
  latency.png          the same as a chart
  report-screenshot.png  the HTML report as headless Chromium showed it (tests/e2e)
  summary.json         counts, verdict, exit code, durations
  environment.json     target, profile, versions, image digests where known
  doctor.json          the environment doctor's checks (run-local.sh --target cluster)
  done.json            written last by an in-cluster Job: exit code and end time
  .harness-results     marker: this directory is a harness results layout (may be replaced)
```

Paths are built here and nowhere else, so writers and readers (merge, report, CI) agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(nodeid: str) -> str:
    """A file-system-safe, stable name for a test id (`suites/test_a.py::test_b[x]`)."""
    stem = _UNSAFE.sub("_", nodeid.replace("::", "__").replace("/", "."))
    return stem.strip("._")[:180] or "test"


@dataclass(frozen=True)
class ResultsLayout:
    root: Path

    @property
    def junit(self) -> Path:
        return self.root / "junit.xml"

    @property
    def allure_results(self) -> Path:
        return self.root / "allure-results"

    @property
    def allure_report(self) -> Path:
        return self.root / "allure-report"

    @property
    def timeline_dir(self) -> Path:
        return self.root / "timeline"

    @property
    def diagnostics_dir(self) -> Path:
        return self.root / "diagnostics"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def latency_chart(self) -> Path:
        return self.root / "latency.png"

    @property
    def report_screenshot(self) -> Path:
        return self.root / "report-screenshot.png"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def environment(self) -> Path:
        return self.root / "environment.json"

    @property
    def doctor(self) -> Path:
        return self.root / "doctor.json"

    @property
    def done(self) -> Path:
        return self.root / "done.json"

    @property
    def marker(self) -> Path:
        return self.root / ".harness-results"

    def owned_names(self) -> frozenset[str]:
        """Top-level names of every path this layout defines (a new property joins by itself):
        the only entries a new run may replace."""
        names = {self.timeline_dir.name, self.diagnostics_dir.name}
        for attribute in dir(type(self)):
            member = getattr(type(self), attribute)
            if isinstance(member, property):
                value = getattr(self, attribute)
                if isinstance(value, Path) and value.parent == self.root:
                    names.add(value.name)
        return frozenset(names)

    def timeline_file(self, nodeid: str) -> Path:
        return self.timeline_dir / f"{safe_stem(nodeid)}.jsonl"

    def diagnostics_for(self, nodeid: str) -> Path:
        return self.diagnostics_dir / safe_stem(nodeid)
