"""The touchpoint plots name what they show, in the project's currency."""

from __future__ import annotations

import polars as pl
from matplotlib.axes import Axes

from cxdata.touchpoints.plots import roi_png

SCORES = pl.DataFrame(
    {
        "touchpoint": ["email/winback", "display/retargeting"],
        "roi": [3.0, 0.4],
        "roi_low": [2.0, -0.2],
        "roi_high": [4.0, 0.9],
        "recommendation": ["invest", "cut"],
    }
)


def test_roi_axis_reads_incremental_value_per_1_of_the_currency_spent(monkeypatch):
    labels: list[str] = []
    original = Axes.set_xlabel

    def record(self, text, *args, **kwargs):
        labels.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(Axes, "set_xlabel", record)
    png = roi_png(SCORES, 1.0, "SEK")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert labels == ["incremental value per 1 SEK spent, with interval"]
    labels.clear()
    roi_png(SCORES, 1.0)
    assert labels == ["incremental value per 1 EUR spent, with interval"]
