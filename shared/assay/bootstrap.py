"""The one place that builds adapters from Settings. Everything heavy is built on first use,
so importing a function's main.py stays cheap (cold starts)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from assay.config import Settings, get_settings

if TYPE_CHECKING:
    from assay.adapters.llm import LLMClient
    from assay.adapters.logstore import LogStore, LogWriter
    from assay.adapters.queue import Queue
    from assay.adapters.secrets import LocalSecrets
    from assay.adapters.store import Store
    from assay.services.case_runner import CaseRunner

T = TypeVar("T")


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._built: dict[str, object] = {}

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    def _build(self, name: str, factory: Callable[[], T]) -> T:
        """Build `name` once per process, thread-safely, on first use."""
        with self._lock:
            if name not in self._built:
                self._built[name] = factory()
            return self._built[name]  # type: ignore[no-any-return]

    @property
    def store(self) -> Store:
        def build() -> Store:
            if self.settings.backend == "gcp" or self.settings.firestore_emulator_host:
                from assay.adapters.firestore_store import FirestoreStore

                return FirestoreStore(
                    self.settings.project or "assay-local", self.settings.firestore_database
                )
            from assay.adapters.sqlite_store import SQLiteStore

            return SQLiteStore(self.data_dir / "store.db")

        return self._build("_store", build)

    @property
    def queue(self) -> Queue:
        def build() -> Queue:
            if self.settings.backend == "gcp" or self.settings.pubsub_emulator_host:
                from assay.adapters.pubsub_queue import PubSubQueue

                return PubSubQueue(
                    self.settings.project or "assay-local", self.settings.pubsub_topic
                )
            from assay.adapters.local_queue import LocalQueue

            return LocalQueue(
                self.data_dir / "queue.db", max_deliveries=self.settings.queue_max_deliveries
            )

        return self._build("_queue", build)

    @property
    def logstore(self) -> LogStore:
        def build() -> LogStore:
            from assay.adapters.duckdb_logstore import DuckDBLogStore

            return DuckDBLogStore(self.data_dir / "logs.duckdb")

        return self._build("_logstore", build)

    @property
    def log_writer(self) -> LogWriter:
        def build() -> LogWriter:
            from assay.adapters.logstore import LogWriter

            return LogWriter(self.logstore, self.data_dir / "log-spill")

        return self._build("_log_writer", build)

    @property
    def secrets(self) -> LocalSecrets:
        from assay.adapters.secrets import LocalSecrets

        return self._build(
            "_secrets",
            lambda: LocalSecrets(self.data_dir / "secrets", generate=not self.settings.production),
        )

    def api_password(self) -> str:
        if self.settings.password:
            return self.settings.password
        return self.secrets.get("api_password", "ASSAY_PASSWORD")

    def judge(self) -> LLMClient:
        def build() -> LLMClient:
            from assay.adapters.llm import make_llm

            return make_llm(self.settings.judge_model, self.settings)

        return self._build("_judge", build)

    @property
    def case_runner(self) -> CaseRunner:
        def build() -> CaseRunner:
            import httpx

            from assay.services.case_runner import CaseRunner
            from assay.services.http_calls import CaseHTTP

            s = self.settings
            client = httpx.Client(
                timeout=httpx.Timeout(s.case_timeout_s, connect=min(10.0, s.case_timeout_s)),
                limits=httpx.Limits(
                    max_connections=s.worker_concurrency * 2,
                    max_keepalive_connections=s.worker_concurrency,
                ),
                follow_redirects=True,
            )
            http = CaseHTTP(
                client, attempts=s.case_attempts, backoff_s=s.case_backoff_s, log=self.log_writer
            )
            return CaseRunner(self.store, http, self.judge)

        return self._build("_case_runner", build)

    def close(self) -> None:
        """Flush logs, stop deliveries, close connections (in that order)."""
        with self._lock:
            for name in ("_log_writer", "_queue", "_store", "_logstore"):
                obj = self._built.pop(name, None)
                if obj is not None:
                    obj.close()  # type: ignore[attr-defined]
            self._built.clear()


_container: Container | None = None
_container_lock = threading.Lock()


def container() -> Container:
    global _container
    with _container_lock:
        if _container is None:
            _container = Container(get_settings())
        return _container


def reset(settings: Settings | None = None) -> Container:
    """Tests and `assay serve`: drop the process container and build a new one."""
    global _container
    with _container_lock:
        if _container is not None:
            _container.close()
        get_settings.cache_clear()
        _container = Container(settings or get_settings())
        return _container
