"""Reports as SVG charts (the ``charts`` extra: ``pip install helpdesk-core[charts]``).

Built on pygal: it writes SVG natively (no raster backend, no numpy), is pure Python and small,
and is maintained; its SVG is self-contained once its default JavaScript link is switched off,
so a chart can be embedded in a page or written to a file as is. matplotlib would do, at the
cost of a far heavier dependency for bar charts.

:func:`render_svg` draws one bar chart per report: the groups on the x axis (their dimension
values joined by `` / ``), one series per figure in :data:`SERIES` (durations in minutes,
rates in percent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pygal  # type: ignore[import-untyped]
from pygal.style import DefaultStyle  # type: ignore[import-untyped]

from helpdesk_core.errors import ValidationError
from helpdesk_core.reports import DIMENSIONS, Report

__all__ = ["SERIES", "render_svg"]

SERIES: Final[Mapping[str, tuple[str, ...]]] = {
    "volumes": ("tickets", "resolved"),
    "first_response_time": ("responded_median_seconds", "responded_p90_seconds"),
    "resolution_time": ("resolved_median_seconds", "resolved_p90_seconds"),
    "handling_time": ("resolved_median_seconds", "resolved_p90_seconds"),
    "average_wait": ("picked_up_mean_seconds",),
    "first_contact_resolution": ("rate",),
    "reopen_rate": ("rate",),
    "csat": ("rate",),
    "sla_compliance": ("compliance",),
    "on_time": ("rate",),
    "agent_performance": ("handled", "first_responses"),
    "backlog_by_age": ("tickets",),
    "kb_usage": ("views", "linked", "solved"),
}
"""The figures each report charts."""

GROUP_COLUMNS: Final = frozenset({*DIMENSIONS, "policy", "metric", "age", "article"})
"""Columns that name a row's group (the x-axis labels)."""


def _scale(column: str, value: Any) -> float | None:
    if value is None:
        return None
    if column.endswith("_seconds"):
        return round(float(value) / 60, 2)
    if column in ("rate", "compliance"):
        return round(float(value) * 100, 2)
    return float(value)


def _label(column: str) -> str:
    if column.endswith("_seconds"):
        return column.removesuffix("_seconds").replace("_", " ") + " (min)"
    if column in ("rate", "compliance"):
        return f"{column} (%)"
    return column.replace("_", " ")


def render_svg(report: Report, *, title: str | None = None) -> str:
    """The report as a self-contained SVG document (a string)."""
    series = SERIES.get(report.name)
    if series is None:
        series = tuple(
            c for c in report.columns if any(isinstance(r.get(c), int | float) for r in report.rows)
        )
    if not series:
        raise ValidationError("report", f"report {report.name!r} has no figures to chart")
    groups = [c for c in report.columns if c in GROUP_COLUMNS]
    chart = pygal.Bar(
        style=DefaultStyle,
        js=[],
        title=title or report.name.replace("_", " "),
        x_label_rotation=30 if len(report.rows) > 6 else 0,
        show_legend=len(series) > 1,
        disable_xml_declaration=True,
        truncate_legend=-1,
        truncate_label=-1,
    )
    chart.x_labels = [
        " / ".join("-" if row.get(g) is None else str(row.get(g)) for g in groups) or "all"
        for row in report.rows
    ]
    for column in series:
        chart.add(_label(column), [_scale(column, row.get(column)) for row in report.rows])
    return str(chart.render(is_unicode=True))
