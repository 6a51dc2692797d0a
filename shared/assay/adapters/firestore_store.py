"""The production store: Firestore (Native mode), same semantics as SQLiteStore.

Layout: `test_templates/{template_id}`, `test_runs/{run_id}`, and each run's cases in
`test_runs/{run_id}/cases/{case_id}` with an int `index` for numeric order. Free-form JSON
(template data, requests, results) goes through `firestore_codec`, so numbers stay numbers.
This module is imported only when bootstrap builds it (the Google client is heavy); the
client honours FIRESTORE_EMULATOR_HOST by itself. See docs/adapters.md.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions as gx
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from assay.adapters.firestore_codec import decode, encode
from assay.adapters.firestore_io import MAX_WRITES, Docs, Write, is_claimed, translate_errors
from assay.adapters.store import OUTCOME_COUNTER, Store, restarted
from assay.errors import Conflict, NotFound
from assay.models.litmus import Case, CaseStatus, Run, Template

# Firestore documents hold at most 1 MiB; a larger result is replaced by an Error saying so.
MAX_RESULT_BYTES = 900_000


def _run_doc(run: Run) -> dict[str, Any]:
    return {**run.model_dump(), "auth_token": run.auth_token}  # auth_token is excluded by dump


def _run(doc: dict[str, Any] | None) -> Run | None:
    return None if doc is None or is_claimed(doc) else Run.model_validate(doc)


def _case_doc(case: Case) -> dict[str, Any]:
    return encode(case.model_dump())  # type: ignore[no-any-return]


def _case(doc: dict[str, Any]) -> Case:
    return Case.model_validate(decode(doc))


def _oversized(result: dict[str, Any]) -> dict[str, Any] | None:
    size = len(json.dumps(result, default=str).encode())
    if size <= MAX_RESULT_BYTES:
        return None
    keep = ("tracing_id", "status_code", "latency_ms", "attempts", "started_at", "finished_at")
    return {
        **{k: result[k] for k in keep if k in result},
        "status": "Error",
        "error": f"The result is {size} bytes, over the store's limit of {MAX_RESULT_BYTES}",
    }


class FirestoreStore(Store):
    def __init__(self, project: str, database: str = "(default)", *, deadline_s: float = 20.0):
        self.client = firestore.Client(project=project, database=database)
        self.docs = Docs(self.client, deadline_s)
        self._templates = self.client.collection("test_templates")
        self._runs = self.client.collection("test_runs")

    def _cases(self, run_id: str) -> Any:
        return self._runs.document(run_id).collection("cases")

    # -- templates -------------------------------------------------------------------------
    @translate_errors
    def add_template(self, template: Template) -> None:
        ref = self._templates.document(template.template_id)
        try:
            self.docs.create(ref, encode(template.model_dump()))
        except gx.AlreadyExists:
            raise Conflict(f"Template with ID '{template.template_id}' already exists") from None

    @translate_errors
    def get_template(self, template_id: str) -> Template | None:
        doc = self.docs.get(self._templates.document(template_id))
        return None if doc is None else Template.model_validate(decode(doc))

    @translate_errors
    def update_template(self, template_id: str, fields: dict[str, Any]) -> Template:
        ref = self._templates.document(template_id)

        def update(txn: Any) -> Template:
            doc = self.docs.get(ref, txn)
            if doc is None:
                raise NotFound(f"Template with ID '{template_id}' not found")
            template = Template.model_validate({**decode(doc), **fields})
            txn.set(ref, encode(template.model_dump()))
            return template

        return self.docs.transact(update)  # type: ignore[no-any-return]

    @translate_errors
    def delete_template(self, template_id: str) -> bool:
        try:
            self.docs.delete(self._templates.document(template_id), exists=True)
        except gx.NotFound:
            return False
        return True

    @translate_errors
    def list_templates(self, template_type: str | None = None) -> list[Template]:
        query: Any = self._templates
        if template_type is not None:
            query = query.where(filter=FieldFilter("template_type", "==", template_type))
        templates = [Template.model_validate(decode(d)) for d in self.docs.stream(query)]
        return sorted(templates, key=lambda t: t.template_id)

    # -- runs ------------------------------------------------------------------------------
    @translate_errors
    def create_run(self, run: Run, cases: list[Case]) -> None:
        ref = self._runs.document(run.run_id)
        case_writes: list[Write] = [
            (self._cases(run.run_id).document(c.id), _case_doc(c)) for c in cases
        ]
        if len(cases) < MAX_WRITES:  # one atomic batch; its create() fails if the id is taken
            try:
                self.docs.commit(case_writes, first_create=(ref, _run_doc(run)))
                return
            except gx.AlreadyExists:
                pass  # taken, or an expired claim, which claim_new takes over
        token, took_over = self.docs.claim_new(ref, f"Run with ID '{run.run_id}' already exists")
        if took_over:  # whatever a crashed writer left behind
            self.docs.delete_all(self._cases(run.run_id))
        self.docs.commit(case_writes)
        self.docs.release(ref, token, _run_doc(run))

    @translate_errors
    def get_run(self, run_id: str) -> Run | None:
        return _run(self.docs.get(self._runs.document(run_id)))

    @translate_errors
    def list_runs(self, template_id: str | None = None) -> list[Run]:
        query: Any = self._runs
        if template_id is not None:  # sorted here, so no composite index is needed
            query = query.where(filter=FieldFilter("template_id", "==", template_id))
        runs = [r for d in self.docs.stream(query) if (r := _run(d)) is not None]
        runs.sort(key=lambda r: r.run_id)
        runs.sort(key=lambda r: r.start_time, reverse=True)
        return runs

    @translate_errors
    def restart_run(self, run_id: str, cases: list[Case], start_time: str) -> Run:
        ref = self._runs.document(run_id)
        old = _run(self.docs.get(ref))
        if old is None:
            raise NotFound(f"Run with ID '{run_id}' not found")
        run = restarted(old, len(cases), start_time)
        new_ids = {c.id for c in cases}
        writes: list[Write] = [
            (self._cases(run_id).document(c.id), _case_doc(c))
            for c in (c.model_copy(update={"generation": run.generation}) for c in cases)
        ]
        writes += [(r, None) for r in self.docs.refs(self._cases(run_id)) if r.id not in new_ids]

        def swap(txn: Any, case_writes: list[Write]) -> None:
            current = _run(self.docs.get(ref, txn))
            if current is None or current.generation != old.generation:
                raise Conflict(f"Run '{run_id}' was re-invoked by another request meanwhile")
            for case_ref, doc in case_writes:
                if doc is None:
                    txn.delete(case_ref)
                else:
                    txn.set(case_ref, doc)
            txn.set(ref, _run_doc(run))

        if len(writes) < MAX_WRITES:
            self.docs.transact(lambda txn: swap(txn, writes))
        else:
            # New-generation cases first: an old-generation message finds its case replaced
            # and is ignored; the run document flips last.
            self.docs.commit(writes)
            self.docs.transact(lambda txn: swap(txn, []))
        return run

    @translate_errors
    def delete_run(self, run_id: str) -> bool:
        ref = self._runs.document(run_id)
        token = self.docs.claim_existing(ref)  # the run disappears at once
        if token is None:
            return False
        self.docs.delete_all(self._cases(run_id))
        self.docs.release(ref, token, None)
        return True

    @translate_errors
    def mark_running(self, run_id: str, generation: int) -> None:
        self._settle(
            run_id,
            generation,
            lambda run: {"status": "Running"} if run.status == "Not Started" else {},
        )

    @translate_errors
    def fail_run(self, run_id: str, error: str, end_time: str) -> None:
        fields = {"status": "Failed", "end_time": end_time, "error": error}
        with contextlib.suppress(gx.NotFound):
            self.docs.update(self._runs.document(run_id), fields)

    def _settle(
        self, run_id: str, generation: int, change: Callable[[Run], dict[str, Any]]
    ) -> Run | None:
        """Apply `change(run)` to the run of that generation. Completion converges: once
        done >= total only other finishers write the run document."""

        def fields(doc: dict[str, Any] | None) -> dict[str, Any]:
            run = _run(doc)
            return {} if run is None or run.generation != generation else change(run)

        return _run(self.docs.compare_and_set(self._runs.document(run_id), fields))

    # -- cases -----------------------------------------------------------------------------
    @translate_errors
    def list_cases(
        self, run_id: str, *, flagged: bool | None = None, rating: int | None = None
    ) -> list[Case]:
        query: Any = self._cases(run_id)
        if flagged is not None:
            query = query.where(filter=FieldFilter("flagged", "==", flagged))
        if rating is not None:
            query = query.where(filter=FieldFilter("rating", "==", rating))
        # Ordered here rather than by the query: equality filters plus order_by("index")
        # would need a composite index per filter combination.
        return sorted((_case(d) for d in self.docs.stream(query)), key=lambda c: c.index)

    @translate_errors
    def get_case(self, run_id: str, case_id: str) -> Case | None:
        doc = self.docs.get(self._cases(run_id).document(case_id))
        return None if doc is None else _case(doc)

    @translate_errors
    def record_result(
        self,
        run_id: str,
        case_id: str,
        generation: int,
        result: dict[str, Any],
        outcome: CaseStatus,
        now: str,
    ) -> Run | None:
        substitute = _oversized(result)
        if substitute is not None:
            result, outcome = substitute, "Error"
        case_ref = self._cases(run_id).document(case_id)
        counters = {
            "done": firestore.Increment(1),
            OUTCOME_COUNTER[outcome]: firestore.Increment(1),
        }

        def count_once(txn: Any) -> bool:
            # Only the case is read: the run's counters are blind increments, so concurrent
            # cases of one run never contend on its document.
            doc = self.docs.get(case_ref, txn)
            if doc is None or doc.get("result") is not None or doc["generation"] != generation:
                return False
            txn.update(case_ref, {"result": encode(result, depth=1)})
            txn.update(self._runs.document(run_id), counters)
            return True

        try:
            if not self.docs.transact(count_once):
                return None
        except gx.NotFound:  # the run was deleted meanwhile
            return None

        def finish(run: Run) -> dict[str, Any]:
            if run.done >= run.total and run.status != "Completed":
                status = "Failed" if run.status == "Failed" else "Completed"
                return {} if run.end_time == now else {"status": status, "end_time": now}
            return {"status": "Running"} if run.status == "Not Started" else {}

        return self._settle(run_id, generation, finish)

    def _change_case(
        self, run_id: str, case_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        ref = self._cases(run_id).document(case_id)

        def apply(txn: Any) -> dict[str, Any]:
            doc = self.docs.get(ref, txn)
            if doc is None:
                raise NotFound(f"Test case '{case_id}' not found in run '{run_id}'")
            fields = change(doc)
            txn.update(ref, fields)
            return fields

        return self.docs.transact(apply)  # type: ignore[no-any-return]

    @translate_errors
    def toggle_flag(self, run_id: str, case_id: str) -> bool:
        flip = self._change_case(run_id, case_id, lambda d: {"flagged": not d.get("flagged")})
        return bool(flip["flagged"])

    @translate_errors
    def set_rating(self, run_id: str, case_id: str, rating: int) -> None:
        self._change_case(run_id, case_id, lambda _: {"rating": rating})

    @translate_errors
    def add_comment(self, run_id: str, case_id: str, comment: str) -> None:
        # Read-modify-write, not ArrayUnion: ArrayUnion would drop a repeated comment.
        self._change_case(
            run_id, case_id, lambda d: {"comments": [*d.get("comments", []), comment]}
        )

    # -- health ----------------------------------------------------------------------------
    @translate_errors
    def ping(self) -> None:
        """One read of a document that need not exist, failing fast instead of retrying."""
        self.client.collection("_assay").document("ping").get(retry=None, timeout=5)

    def close(self) -> None:
        self.client.close()
