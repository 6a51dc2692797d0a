"""The store port: templates, runs and their cases.

Adapters: `sqlite_store.SQLiteStore` (embedded default) and `firestore_store.FirestoreStore`
(production). Both pass tests/contract/test_store_contract.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from assay.models.litmus import Case, CaseStatus, Run, Template

OUTCOME_COUNTER: dict[str, str] = {
    "Passed": "passed",
    "Failed": "failed",
    "Error": "errors",
    "Completed": "completed",
}


def restarted(old: Run, total: int, start_time: str) -> Run:
    """The run as /runs/invoke restarts it: the next generation, counters zeroed."""
    return old.model_copy(
        update={
            "status": "Not Started" if total else "Completed",
            "generation": old.generation + 1,
            "total": total,
            **dict.fromkeys(("done", "passed", "failed", "errors", "completed"), 0),
            "start_time": start_time,
            "end_time": None if total else start_time,
            "error": None,
        }
    )


class Store(ABC):
    # -- templates -------------------------------------------------------------------------
    @abstractmethod
    def add_template(self, template: Template) -> None:
        """Raises Conflict when the id is taken."""

    @abstractmethod
    def get_template(self, template_id: str) -> Template | None: ...

    @abstractmethod
    def update_template(self, template_id: str, fields: dict[str, Any]) -> Template:
        """Merge `fields` into the stored template; raises NotFound."""

    @abstractmethod
    def delete_template(self, template_id: str) -> bool: ...

    @abstractmethod
    def list_templates(self, template_type: str | None = None) -> list[Template]: ...

    # -- runs ------------------------------------------------------------------------------
    @abstractmethod
    def create_run(self, run: Run, cases: list[Case]) -> None:
        """Write the run and all its cases at once; raises Conflict when the run id is taken."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None: ...

    @abstractmethod
    def list_runs(self, template_id: str | None = None) -> list[Run]:
        """Newest first."""

    @abstractmethod
    def restart_run(self, run_id: str, cases: list[Case], start_time: str) -> Run:
        """For /runs/invoke: bump the generation, zero the counters, replace the cases."""

    @abstractmethod
    def delete_run(self, run_id: str) -> bool:
        """Delete the run and every case of it."""

    @abstractmethod
    def mark_running(self, run_id: str, generation: int) -> None:
        """Not Started -> Running for that generation; anything else is left alone."""

    @abstractmethod
    def fail_run(self, run_id: str, error: str, end_time: str) -> None: ...

    # -- cases -----------------------------------------------------------------------------
    @abstractmethod
    def list_cases(
        self, run_id: str, *, flagged: bool | None = None, rating: int | None = None
    ) -> list[Case]:
        """In numeric case order."""

    @abstractmethod
    def get_case(self, run_id: str, case_id: str) -> Case | None: ...

    @abstractmethod
    def record_result(
        self,
        run_id: str,
        case_id: str,
        generation: int,
        result: dict[str, Any],
        outcome: CaseStatus,
        now: str,
    ) -> Run | None:
        """Atomically store a case's result and count it, once.

        A case that is already final, or belongs to another generation, is left alone and
        None is returned (a redelivered message counts once). The case that makes `done`
        reach `total` marks the run Completed with `end_time = now`.
        """

    @abstractmethod
    def toggle_flag(self, run_id: str, case_id: str) -> bool:
        """Returns the new flag; raises NotFound."""

    @abstractmethod
    def set_rating(self, run_id: str, case_id: str, rating: int) -> None: ...

    @abstractmethod
    def add_comment(self, run_id: str, case_id: str, comment: str) -> None: ...

    # -- health ----------------------------------------------------------------------------
    @abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    def close(self) -> None:  # noqa: B027 - optional for adapters
        """Release connections."""
