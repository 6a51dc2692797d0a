"""The embedded store: SQLite in WAL mode, one file in the data dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from assay.adapters.sqlite_base import SQLiteDB
from assay.adapters.store import OUTCOME_COUNTER, Store, restarted
from assay.errors import Conflict, NotFound
from assay.models.litmus import Case, CaseStatus, EvaluationTypes, Run, Template, trusted

SCHEMA = """
CREATE TABLE IF NOT EXISTS templates (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, template_id TEXT NOT NULL, template_type TEXT NOT NULL,
  status TEXT NOT NULL, generation INTEGER NOT NULL, total INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0, passed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 0,
  start_time TEXT NOT NULL, end_time TEXT, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_template ON runs (template_id, start_time);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (start_time);
CREATE TABLE IF NOT EXISTS cases (
  run_id TEXT NOT NULL, id TEXT NOT NULL, idx INTEGER NOT NULL, generation INTEGER NOT NULL,
  tracing_id TEXT NOT NULL, flagged INTEGER NOT NULL DEFAULT 0, rating INTEGER NOT NULL DEFAULT 0,
  comments TEXT NOT NULL DEFAULT '[]', doc TEXT NOT NULL, result TEXT,
  PRIMARY KEY (run_id, id)
);
CREATE INDEX IF NOT EXISTS cases_in_order ON cases (run_id, idx);
"""

_RUN_COLUMNS = (
    "id, template_id, template_type, status, generation, total, done, passed, failed, errors, "
    "completed, start_time, end_time, doc"
)
_CASE_DOC_FIELDS = ("request", "pre_request", "post_request", "golden_response", "mission")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _run_from_row(row: Any) -> Run:
    doc = orjson.loads(row["doc"])
    evaluations = {"llm_assessment": False, "ragas": False, "deepeval": []}
    evaluations.update(doc.get("evaluation_types") or {})
    doc["evaluation_types"] = trusted(EvaluationTypes, evaluations)
    return trusted(
        Run,
        {
            "run_id": row["id"],
            "template_id": row["template_id"],
            "template_type": row["template_type"],
            "status": row["status"],
            "generation": row["generation"],
            "total": row["total"],
            "done": row["done"],
            "passed": row["passed"],
            "failed": row["failed"],
            "errors": row["errors"],
            "completed": row["completed"],
            "start_time": row["start_time"],
            "end_time": row["end_time"],
            **{k: doc.get(k) for k in _RUN_DOC_FIELDS},
        },
    )


_RUN_DOC_FIELDS = (
    "template_input_field",
    "template_output_field",
    "template_llm_prompt",
    "mission_duration",
    "evaluation_types",
    "error",
    "auth_token",
)


def _run_doc(run: Run) -> str:
    doc = {k: getattr(run, k) for k in _RUN_DOC_FIELDS}
    doc["evaluation_types"] = run.evaluation_types.model_dump()
    return _dumps(doc)


def _case_from_row(row: Any) -> Case:
    doc = orjson.loads(row["doc"])
    result = row["result"]
    return trusted(
        Case,
        {
            "id": row["id"],
            "index": row["idx"],
            "generation": row["generation"],
            "request": doc.get("request"),
            "pre_request": doc.get("pre_request"),
            "post_request": doc.get("post_request"),
            "golden_response": doc.get("golden_response"),
            "mission": doc.get("mission"),
            "tracing_id": row["tracing_id"],
            "result": orjson.loads(result) if result is not None else None,
            "flagged": bool(row["flagged"]),
            "rating": row["rating"],
            "comments": orjson.loads(row["comments"]),
        },
    )


def _case_params(run_id: str, case: Case) -> tuple:
    doc = {k: getattr(case, k) for k in _CASE_DOC_FIELDS}
    return (run_id, case.id, case.index, case.generation, case.tracing_id, _dumps(doc))


class SQLiteStore(Store):
    def __init__(self, path: Path) -> None:
        self.db = SQLiteDB(path, SCHEMA)

    # -- templates -------------------------------------------------------------------------
    def add_template(self, template: Template) -> None:
        with self.db.write() as conn:
            if conn.execute(
                "SELECT 1 FROM templates WHERE id=?", (template.template_id,)
            ).fetchone():
                raise Conflict(f"Template with ID '{template.template_id}' already exists")
            conn.execute(
                "INSERT INTO templates (id, type, doc) VALUES (?, ?, ?)",
                (template.template_id, template.template_type, template.model_dump_json()),
            )

    def get_template(self, template_id: str) -> Template | None:
        rows = self.db.query("SELECT doc FROM templates WHERE id=?", (template_id,))
        return Template.model_validate_json(rows[0]["doc"]) if rows else None

    def update_template(self, template_id: str, fields: dict[str, Any]) -> Template:
        with self.db.write() as conn:
            row = conn.execute("SELECT doc FROM templates WHERE id=?", (template_id,)).fetchone()
            if row is None:
                raise NotFound(f"Template with ID '{template_id}' not found")
            merged = {**json.loads(row["doc"]), **fields}
            template = Template.model_validate(merged)
            conn.execute(
                "UPDATE templates SET type=?, doc=? WHERE id=?",
                (template.template_type, template.model_dump_json(), template_id),
            )
            return template

    def delete_template(self, template_id: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM templates WHERE id=?", (template_id,)).rowcount > 0

    def list_templates(self, template_type: str | None = None) -> list[Template]:
        if template_type is None:
            rows = self.db.query("SELECT doc FROM templates ORDER BY id")
        else:
            rows = self.db.query(
                "SELECT doc FROM templates WHERE type=? ORDER BY id", (template_type,)
            )
        return [Template.model_validate_json(r["doc"]) for r in rows]

    # -- runs ------------------------------------------------------------------------------
    def create_run(self, run: Run, cases: list[Case]) -> None:
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id=?", (run.run_id,)).fetchone():
                raise Conflict(f"Run with ID '{run.run_id}' already exists")
            self._insert_run(conn, run)
            conn.executemany(
                "INSERT INTO cases (run_id, id, idx, generation, tracing_id, doc) VALUES (?,?,?,?,?,?)",
                [_case_params(run.run_id, c) for c in cases],
            )

    @staticmethod
    def _insert_run(conn: Any, run: Run) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run.run_id,
                run.template_id,
                run.template_type,
                run.status,
                run.generation,
                run.total,
                run.done,
                run.passed,
                run.failed,
                run.errors,
                run.completed,
                run.start_time,
                run.end_time,
                _run_doc(run),
            ),
        )

    def get_run(self, run_id: str) -> Run | None:
        rows = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,))
        return _run_from_row(rows[0]) if rows else None

    def list_runs(self, template_id: str | None = None) -> list[Run]:
        if template_id is None:
            rows = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY start_time DESC, id")
        else:
            rows = self.db.query(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE template_id=? ORDER BY start_time DESC, id",
                (template_id,),
            )
        return [_run_from_row(r) for r in rows]

    def restart_run(self, run_id: str, cases: list[Case], start_time: str) -> Run:
        with self.db.write() as conn:
            row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise NotFound(f"Run with ID '{run_id}' not found")
            run = restarted(_run_from_row(row), len(cases), start_time)
            generation = run.generation
            self._insert_run(conn, run)
            conn.execute("DELETE FROM cases WHERE run_id=?", (run_id,))
            conn.executemany(
                "INSERT INTO cases (run_id, id, idx, generation, tracing_id, doc) VALUES (?,?,?,?,?,?)",
                [
                    _case_params(run_id, c.model_copy(update={"generation": generation}))
                    for c in cases
                ],
            )
            return run

    def delete_run(self, run_id: str) -> bool:
        with self.db.write() as conn:
            conn.execute("DELETE FROM cases WHERE run_id=?", (run_id,))
            return conn.execute("DELETE FROM runs WHERE id=?", (run_id,)).rowcount > 0

    def mark_running(self, run_id: str, generation: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE runs SET status='Running' WHERE id=? AND generation=? AND status='Not Started'",
                (run_id, generation),
            )

    def fail_run(self, run_id: str, error: str, end_time: str) -> None:
        with self.db.write() as conn:
            row = conn.execute("SELECT doc FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                return
            doc = {**json.loads(row["doc"]), "error": error}
            conn.execute(
                "UPDATE runs SET status='Failed', end_time=?, doc=? WHERE id=?",
                (end_time, _dumps(doc), run_id),
            )

    # -- cases -----------------------------------------------------------------------------
    def list_cases(
        self, run_id: str, *, flagged: bool | None = None, rating: int | None = None
    ) -> list[Case]:
        sql = "SELECT * FROM cases WHERE run_id=?"
        params: list[Any] = [run_id]
        if flagged is not None:
            sql += " AND flagged=?"
            params.append(int(flagged))
        if rating is not None:
            sql += " AND rating=?"
            params.append(rating)
        return [_case_from_row(r) for r in self.db.query(sql + " ORDER BY idx", params)]

    def get_case(self, run_id: str, case_id: str) -> Case | None:
        rows = self.db.query("SELECT * FROM cases WHERE run_id=? AND id=?", (run_id, case_id))
        return _case_from_row(rows[0]) if rows else None

    def record_result(
        self,
        run_id: str,
        case_id: str,
        generation: int,
        result: dict[str, Any],
        outcome: CaseStatus,
        now: str,
    ) -> Run | None:
        counter = OUTCOME_COUNTER[outcome]
        with self.db.write() as conn:
            changed = conn.execute(
                "UPDATE cases SET result=? WHERE run_id=? AND id=? AND generation=? AND result IS NULL",
                (_dumps(result), run_id, case_id, generation),
            ).rowcount
            if not changed:
                return None
            conn.execute(
                f"""UPDATE runs SET done = done + 1, {counter} = {counter} + 1,
                    status = CASE WHEN done + 1 >= total AND status != 'Failed' THEN 'Completed'
                                  WHEN status = 'Not Started' THEN 'Running' ELSE status END,
                    end_time = CASE WHEN done + 1 >= total THEN ? ELSE end_time END
                    WHERE id=? AND generation=?""",
                (now, run_id, generation),
            )
            row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
            return _run_from_row(row) if row else None

    def _case_update(self, run_id: str, case_id: str, sql: str, params: tuple) -> None:
        with self.db.write() as conn:
            if not conn.execute(sql, (*params, run_id, case_id)).rowcount:
                raise NotFound(f"Test case '{case_id}' not found in run '{run_id}'")

    def toggle_flag(self, run_id: str, case_id: str) -> bool:
        self._case_update(
            run_id, case_id, "UPDATE cases SET flagged = 1 - flagged WHERE run_id=? AND id=?", ()
        )
        case = self.get_case(run_id, case_id)
        return bool(case and case.flagged)

    def set_rating(self, run_id: str, case_id: str, rating: int) -> None:
        self._case_update(
            run_id, case_id, "UPDATE cases SET rating=? WHERE run_id=? AND id=?", (rating,)
        )

    def add_comment(self, run_id: str, case_id: str, comment: str) -> None:
        self._case_update(
            run_id,
            case_id,
            "UPDATE cases SET comments = json_insert(comments, '$[#]', ?) WHERE run_id=? AND id=?",
            (comment,),
        )

    def ping(self) -> None:
        self.db.query("SELECT 1")

    def close(self) -> None:
        self.db.close()
