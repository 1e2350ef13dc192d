"""Reports render as SVG charts through the ``charts`` extra (pygal)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from report_histories import History
from test_reports import fixture_events, sla_config

from helpdesk_core import reports
from helpdesk_core.errors import ValidationError
from helpdesk_plugins.charts import SERIES, render_svg

SVG = "{http://www.w3.org/2000/svg}"
DAY = date(2026, 11, 2)


@pytest.mark.parametrize("name", sorted(reports.REPORTS))
def test_every_report_renders_as_valid_svg(name: str) -> None:
    assert name in SERIES
    group_by = () if name == "agent_performance" else ("type",)
    result = reports.report(
        name, fixture_events(), start=DAY, end=DAY, tz="Asia/Shanghai", group_by=group_by,
        sla=sla_config(),
    )  # fmt: skip
    svg = render_svg(result)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert name.replace("_", " ") in text  # the title
    if result.rows and name != "agent_performance":
        assert "complaint" in text or "sla" in name  # a group label on the x axis
    # self-contained: no external script or style sheet is fetched
    assert not [e for e in root.iter(f"{SVG}script") if e.get("{http://www.w3.org/1999/xlink}href")]


def test_kb_usage_renders_with_its_articles_on_the_x_axis() -> None:
    """R-RPT-1: KB usage (article uses, not ticket events) charts like every other report."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from helpdesk_core.model.knowledge import ArticleUse

    noon = datetime(2026, 11, 2, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
    uses = [
        ArticleUse(article_id="kb-refunds", kind="view", actor="a1", at=noon),
        ArticleUse(
            article_id="kb-refunds", kind="link", actor="a1", at=noon, ticket_id="t1", solved=True
        ),
        ArticleUse(article_id="kb-login", kind="view", actor="a2", at=noon + timedelta(hours=1)),
    ]
    result = reports.kb_usage(uses, start=DAY, end=DAY, tz="Asia/Shanghai")
    root = ET.fromstring(render_svg(result))
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "kb-refunds" in text and "kb-login" in text and "kb usage" in text


def test_chart_labels_join_groups_and_scale_durations() -> None:
    result = reports.first_response_time(
        fixture_events(), start=DAY, end=DAY, tz="Asia/Shanghai", group_by=["type", "channel"]
    )
    svg = render_svg(result, title="FRT by type")
    root = ET.fromstring(svg)
    text = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "FRT by type" in text
    assert "complaint / phone" in text
    assert any("responded median (min)" in t for t in text)


def test_a_report_without_figures_is_refused() -> None:
    empty = reports.Report("nothing", ("type",), [], *reports.period_bounds(DAY, DAY, "UTC"))
    with pytest.raises(ValidationError):
        render_svg(empty)
    assert History  # the shared history builder is importable beside the charts
