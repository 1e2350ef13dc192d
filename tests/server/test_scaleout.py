"""Scale-out on one machine (issue 25), small: benchmarks/bench_scaleout.py's harness with 10
users for 10 s. Two ``helpdesk serve`` and two ``helpdesk worker`` OS processes on one
PostgreSQL schema, every request sent to the servers in turn, every notification mail counted at
an aiosmtpd peer: no request fails, no notification is lost or sent twice, every process exits
0 on SIGTERM. Timings are printed by the benchmark, never asserted here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")
pytest.importorskip("aiosmtpd", reason="pip install helpdesk-core[email]")
pytest.importorskip("httpx", reason="pip install helpdesk-core[webhook]")

from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_scaleout.py"


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scaleout", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_two_servers_and_two_workers_lose_and_repeat_no_notification(tmp_path: Path) -> None:
    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    bench = harness()
    with scratch_schema(base, "hd_scaleout") as url:
        result = bench.run(url, users=10, seconds=10, folder=tmp_path, say=lambda _: None)
    report = result.report()
    assert not result.errors, report
    assert result.exit_codes == [0, 0, 0, 0], report
    assert set(result.outbox_states) == {"delivered"}, report
    assert result.lost == [] and result.unexpected == [], report
    assert result.duplicated == {}, report
    # the load did what it is for: tickets opened on both servers, answered, mails delivered
    assert result.tickets_created >= 5 and result.resolved >= 1, report
    assert result.expected == result.received > 0, report
    kinds = {sample.kind for sample in result.samples}
    assert {"open_ticket", "claim", "agent_reply", "customer_reply", "agent_resolve"} <= kinds
    writes = {(s.kind, s.server) for s in result.samples if s.status in (200, 201)}
    assert {("open_ticket", 0), ("open_ticket", 1)} <= writes, report
    assert result.ok, report
