"""Two versions compared on the customers both held out (hand-computed expectations)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pachflow_contracts import heldout_scores as hs


def _table(rows: list[tuple[str, float, float, float]]) -> pa.Table:
    names, labels, scores, preds = zip(*rows, strict=True)
    return pa.table({hs.CUSTOMER: names, hs.LABEL: labels, hs.SCORE: scores, hs.PREDICTION: preds})


def test_only_customers_held_out_by_both_are_compared() -> None:
    # v1 held out a..d; v2 (more data) holds out b..e: common b, c, d.
    v1 = _table([("a", 1, 0.9, 1), ("b", 1, 0.8, 1), ("c", 0, 0.6, 1), ("d", 0, 0.1, 0)])
    v2 = _table([("e", 1, 0.1, 0), ("d", 0, 0.7, 1), ("c", 0, 0.2, 0), ("b", 1, 0.9, 1)])
    m1, m2 = hs.compare(v1, v2)
    # v1 on b,c,d: tp=1 (b) fp=1 (c) fn=0 -> precision 1/2, recall 1, F1 2/3.
    # areaUnderPR: scores 0.8 (pos) 0.6 (neg) 0.1 (neg): recall 0->1 at precision 1
    # (start at the top score's precision), then stays at 1: area 1.0.
    assert m1 == hs.HeldoutMetrics(3, 1, 1.0, 0.5, 1.0, pytest.approx(2 / 3))
    # v2 on b,c,d: b 0.9 pos predicted, d 0.7 neg predicted, c 0.2 neg: same counts.
    assert (m2.customers, m2.frauds, m2.precision, m2.recall) == (3, 1, 0.5, 1.0)
    assert m2.area_under_pr == 1.0


def test_area_under_pr_with_tied_and_misordered_scores() -> None:
    # Scores: 0.9 neg, 0.5 pos, 0.5 neg, 0.2 pos.
    # Thresholds: 0.9 -> (r 0, p 0); 0.5 -> (r 1/2, p 1/3); 0.2 -> (r 1, p 1/2).
    # Start at (0, 0): area = 1/2 * (0 + 1/3)/2 + 1/2 * (1/3 + 1/2)/2 = 1/12 + 5/24 = 7/24.
    t = _table([("w", 0, 0.9, 1), ("x", 1, 0.5, 1), ("y", 0, 0.5, 1), ("z", 1, 0.2, 0)])
    m = hs.metrics(t)
    assert m.area_under_pr == pytest.approx(7 / 24)
    # At the prediction: tp 1 (x), fp 2 (w, y), fn 1 (z): precision 1/3, recall 1/2, F1 2/5.
    assert (m.precision, m.recall, m.f1) == (pytest.approx(1 / 3), 0.5, pytest.approx(0.4))


def test_no_common_customers_gives_empty_metrics() -> None:
    m1, m2 = hs.compare(_table([("a", 1, 0.9, 1)]), _table([("b", 1, 0.9, 1)]))
    assert m1 == m2 == hs.HeldoutMetrics(0, 0, 0.0, 0.0, 0.0, 0.0)


def test_written_file_is_sorted_and_byte_identical_for_the_same_rows(tmp_path) -> None:
    rows = [("b", 1, 0.8, 1), ("a", 0, 0.1, 0)]
    hs.write(_table(rows), str(tmp_path / "1.parquet"))
    hs.write(_table(rows[::-1]), str(tmp_path / "2.parquet"))
    one = (tmp_path / "1.parquet").read_bytes()
    assert one == (tmp_path / "2.parquet").read_bytes()
    assert hs.read(one)[hs.CUSTOMER].to_pylist() == ["a", "b"]
