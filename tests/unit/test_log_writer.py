"""A log store that cannot even be built (no credentials yet) never fails the caller that logs:
its rows are retried, spilled, and written once the store can be built."""

from typing import Any

from assay.adapters.logstore import LogStore, LogWriter


class ListStore(LogStore):
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def write(self, table, rows):
        self.rows.extend(rows)

    def select(self, sql, params):
        return []

    def ping(self):
        pass


def test_rows_survive_a_store_that_cannot_be_built_at_first(tmp_path):
    store = ListStore()
    attempts = {"n": 0}

    def factory() -> LogStore:
        attempts["n"] += 1
        if attempts["n"] <= 3:
            raise RuntimeError("no credentials")
        return store

    writer = LogWriter(
        factory, tmp_path / "spill", retries=2, backoff_s=0.01, flush_interval_s=0.02
    )
    for i in range(10):
        writer.submit("litmus_log", {"id": str(i)})  # never raises
    assert writer.flush(timeout=10)
    writer.submit("litmus_log", {"id": "late"})
    assert writer.flush(timeout=10)
    writer.close()
    assert sorted(r["id"] for r in store.rows) == sorted([str(i) for i in range(10)] + ["late"])
    assert attempts["n"] == 4 and writer.backlog == 0
