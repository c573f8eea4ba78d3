"""Restart latency charts, drawn with matplotlib (Agg backend, no display needed).

`run_chart`: p50/p90/p99/max per phase over the run; `test_chart`: each restart of one test.
"""

from __future__ import annotations

import io
from typing import Any

from harness.contract.milestones import PHASES


def run_chart(summary: dict[str, dict[str, float]]) -> bytes:
    series = {
        stat: {p: v[stat] for p, v in summary.items()} for stat in ("p50", "p90", "p99", "max")
    }
    count = max((int(v["count"]) for v in summary.values()), default=0)
    return _bars(series, f"restart latency per phase over the run ({count} restarts)")


def test_chart(samples: list[dict[str, Any]], test: str) -> bytes:
    series = {
        f"restart {i} ({s['instance']})": s["phases"]
        for i, s in enumerate(samples, 1)
        if s["completed"]
    }
    return _bars(series, f"restart latency: {test}"[:90])


def _bars(series: dict[str, dict[str, float]], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    phases = [p for p in PHASES if any(p in values for values in series.values())]
    figure, axes = pyplot.subplots(figsize=(8, 0.5 * max(len(phases), 2) + 1.5), dpi=100)
    try:
        if not phases:
            axes.text(0.5, 0.5, "no completed restart", ha="center", va="center")
            axes.set_axis_off()
        else:
            height = 0.8 / len(series)
            for index, (label, values) in enumerate(series.items()):
                positions = [row + index * height for row in range(len(phases))]
                axes.barh(positions, [values.get(p, 0.0) for p in phases], height, label=label)
            axes.set_yticks([row + 0.4 - height / 2 for row in range(len(phases))], phases)
            axes.invert_yaxis()
            axes.set_xlabel("seconds")
            axes.grid(axis="x", alpha=0.3)
            if len(series) <= 8:
                axes.legend(
                    loc="upper center",
                    bbox_to_anchor=(0.5, -0.18),
                    ncols=min(4, len(series)),
                    fontsize="small",
                    frameon=False,
                )
        axes.set_title(title, fontsize="medium")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        pyplot.close(figure)
