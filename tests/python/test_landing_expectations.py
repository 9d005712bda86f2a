"""Great Expectations judges landing batches before they load (ingestion/landing_expectations.py).

A batch whose rows mostly break a contract rule is held (moved under _held/, a reason beside
it, nothing deleted) and the run exits 3; a batch with the odd bad row passes (the loader
quarantines that row); the loaders never see a held file; Data Docs are published as HTML.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingestion import landing_expectations as gate
from ingestion.contract import TABLES
from ingestion.loaders.files import discover_files, file_sha256

ORDER_COLUMNS = TABLES["orders"].column_names
TRADE_COLUMNS = TABLES["trades"].column_names


def _order(i: int, status: str = "filled", quantity: str = "1.5") -> dict:
    return {
        "order_id": f"o{i}",
        "user_id": f"u{i}",
        "pair_id": "1",
        "order_type": "limit",
        "side": "buy",
        "quantity": quantity,
        "price": "100",
        "status": status,
        "filled_quantity": quantity,
        "created_at": "2026-10-01 10:00:00",
        "updated_at": "2026-10-01 10:00:00",
    }


def _trade(trade_id: str) -> dict:
    return {
        "trade_id": trade_id,
        "order_id": "o1",
        "user_id": "u1",
        "pair_id": "1",
        "side": "buy",
        "quantity": "1",
        "price": "100",
        "fee": "0.1",
        "fee_asset": "USDT",
        "is_maker": "false",
        "executed_at": "2026-10-01 10:00:00",
    }


def _write(path: Path, columns: list[str], rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    docs = tmp_path_factory.mktemp("gx_docs")
    # one bad row in ten: the loader's business (quarantine), not a batch fault
    odd = [_order(i) for i in range(9)] + [_order(9, status="teleported")]
    _write(landing / "orders" / "orders_ok.csv", ORDER_COLUMNS, odd)
    # an upstream change: most statuses unknown, most quantities not positive
    broken = [_order(i, status="FILLED", quantity="-1") for i in range(8)] + [_order(8)]
    _write(landing / "orders" / "orders_broken.csv", ORDER_COLUMNS, broken)
    # a key delivered twice in one file of an immutable table
    _write(landing / "trades" / "trades_dup.csv", TRADE_COLUMNS, [_trade("t1"), _trade("t1")])
    code = gate.main(
        ["--landing", str(landing), "--docs", str(docs), "--table", "orders", "--table", "trades"]
    )
    return landing, docs, code


def test_a_mostly_bad_batch_is_held_with_its_reasons_and_the_run_fails(validated):
    landing, _, code = validated
    assert code == gate.HELD_EXIT == 3
    held = landing / "_held" / "orders" / "orders_broken.csv"
    assert held.exists() and not (landing / "orders" / "orders_broken.csv").exists()
    reason = (landing / "_held" / "orders" / "orders_broken.csv.reason.txt").read_text()
    assert "expect_column_values_to_be_in_set(status)" in reason
    assert "expect_column_values_to_be_between(quantity)" in reason
    assert "Move it back to orders/" in reason
    # nothing lost: the held file is the file, byte for byte loadable later
    assert len(held.read_text().splitlines()) == 10


def test_a_batch_with_an_odd_bad_row_passes_and_stays_for_the_loader(validated):
    landing, _, _ = validated
    assert (landing / "orders" / "orders_ok.csv").exists()
    assert [p.name for p in discover_files(landing, "orders")] == ["orders_ok.csv"]


def test_a_duplicated_key_of_an_immutable_table_holds_the_batch(validated):
    landing, _, _ = validated
    reason = (landing / "_held" / "trades" / "trades_dup.csv.reason.txt").read_text()
    assert "expect_compound_columns_to_be_unique(trade_id)" in reason
    assert discover_files(landing, "trades") == []


def test_data_docs_are_published_as_static_html(validated):
    _, docs, _ = validated
    index = docs / "index.html"
    assert index.exists()
    assert "landing_orders" in index.read_text()
    assert list((docs / "validations").rglob("*.html"))


def test_suites_are_generated_from_the_contract():
    suite = gate.batch_expectations(TABLES["orders"], mostly=0.5)
    kinds = {(type(e).__name__, getattr(e, "column", None)) for e in suite}
    for column in TABLES["orders"].columns:
        if column.required:
            assert ("ExpectColumnValuesToNotBeNull", column.name) in kinds
        if column.enum:
            assert ("ExpectColumnValuesToBeInSet", column.name) in kinds
        if column.positive:
            assert ("ExpectColumnValuesToBeBetween", column.name) in kinds
    # orders are mutable (versions of a key arrive together): no uniqueness in the batch
    assert not any("Unique" in name for name, _ in kinds)


def test_a_tolerance_outside_its_range_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("EXCHANGE_GX_BATCH_TOLERANCE", "1.5")
    with pytest.raises(ValueError, match="EXCHANGE_GX_BATCH_TOLERANCE"):
        gate.tolerance()


def test_a_loaded_path_is_skipped_unless_its_content_changed(tmp_path):
    """The loader loads a re-delivered path again when its content changed
    (ingestion/loaders/files.py), so the gate judges it again; the same content is skipped."""
    landing, docs = tmp_path / "landing", tmp_path / "docs"
    path = _write(landing / "orders" / "orders.csv", ORDER_COLUMNS, [_order(1)])
    loaded = {"orders/orders.csv": {file_sha256(path)}}
    assert gate.validate_landing(landing, docs, tables=["orders"], loaded=loaded) == []
    broken = [_order(i, status="FILLED", quantity="-1") for i in range(3)]
    _write(path, ORDER_COLUMNS, broken)  # new content under the loaded path
    (batch,) = gate.validate_landing(landing, docs, tables=["orders"], loaded=loaded)
    assert not batch.passed and batch.held_to is not None
