"""Duplicate detection quality and speed (R-TKT-5): precision and recall per threshold on the
labelled pairs in benchmarks/data/duplicate_pairs.json, and pairs scored per second.

    PYTHONPATH=src python benchmarks/bench_duplicates.py

The default ``[duplicates] threshold`` (helpdesk_core.duplicates.DEFAULT_THRESHOLD) is chosen
from this table: the middle of the widest range of thresholds with the best F1.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from helpdesk_core.duplicates import DEFAULT_THRESHOLD, similarity, ticket_text

DATA = Path(__file__).resolve().parent / "data" / "duplicate_pairs.json"


def load() -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["pairs"]
    return pairs


def text(side: dict[str, str]) -> str:
    return ticket_text(side["subject"], side["description"])


def scores(pairs: list[dict[str, Any]]) -> list[tuple[float, bool, str]]:
    return [
        (similarity(text(p["a"]), text(p["b"])), bool(p["duplicate"]), p["kind"]) for p in pairs
    ]


def table(scored: list[tuple[float, bool, str]]) -> list[tuple[float, float, float, float]]:
    rows = []
    for step in range(50, 100, 5):
        threshold = step / 100
        tp = sum(1 for s, d, _ in scored if s >= threshold and d)
        fp = sum(1 for s, d, _ in scored if s >= threshold and not d)
        fn = sum(1 for s, d, _ in scored if s < threshold and d)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((threshold, precision, recall, f1))
    return rows


def main() -> None:
    pairs = load()
    scored = scores(pairs)
    positives = sum(d for _, d, _ in scored)
    print(f"{len(pairs)} labelled pairs: {positives} resubmissions, {len(pairs) - positives} not")
    print("| threshold | precision | recall | F1 |")
    print("|---|---|---|---|")
    for threshold, precision, recall, f1 in table(scored):
        mark = " (default)" if abs(threshold - DEFAULT_THRESHOLD) < 1e-9 else ""
        print(f"| {threshold:.2f}{mark} | {precision:.2f} | {recall:.2f} | {f1:.3f} |")
    worst_dup = min((s, k) for s, d, k in scored if d)
    best_non = max((s, k) for s, d, k in scored if not d)
    print(f"lowest resubmission: {worst_dup[0]:.3f} ({worst_dup[1]})")
    print(f"highest different problem: {best_non[0]:.3f} ({best_non[1]})")
    texts = [(text(p["a"]), text(p["b"])) for p in pairs]
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        for a, b in texts:
            similarity(a, b)
    elapsed = time.perf_counter() - started
    print(f"speed: {rounds * len(texts) / elapsed:,.0f} pairs scored per second (pure Python)")


if __name__ == "__main__":
    main()
