"""The one place that builds adapters from Settings. Everything heavy is built on first use,
so importing a function's main.py stays cheap (cold starts)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from assay.config import Settings, get_settings

if TYPE_CHECKING:
    from assay.adapters.accounts import Accounts
    from assay.adapters.email import Mailer
    from assay.adapters.llm import LLMClient
    from assay.adapters.logstore import LogStore, LogWriter
    from assay.adapters.proxy_directory import ProxyDirectory
    from assay.adapters.queue import Queue
    from assay.adapters.secrets import LocalSecrets
    from assay.adapters.store import Store
    from assay.services.auth import AuthService
    from assay.services.case_runner import CaseRunner
    from assay.services.proxy import Proxy

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
            return self._built[name]  # type: ignore[return-value]

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
            if self.settings.backend == "gcp":
                from assay.adapters.bigquery_logstore import BigQueryLogStore

                return BigQueryLogStore(self.settings.project, self.settings.bigquery_dataset)
            from assay.adapters.duckdb_logstore import DuckDBLogStore

            return DuckDBLogStore(self.data_dir / "logs.duckdb")

        return self._build("_logstore", build)

    def proxy(self, upstream: str) -> Proxy:
        """The LLM proxy to `upstream` (one connection pool each), logging through log_writer."""

        def build() -> Proxy:
            from assay.services.proxy import Proxy, ProxyConfig

            s = self.settings
            config = ProxyConfig(
                upstream,
                log_body_limit=s.proxy_log_body_limit,
                log_secrets=s.proxy_log_secrets,
                max_body_bytes=s.proxy_max_body_bytes,
                connect_timeout_s=s.proxy_connect_timeout_s,
                read_timeout_s=s.proxy_read_timeout_s,
            )
            return Proxy(config, self.log_writer)

        return self._build(f"_proxy:{upstream}", build)

    @property
    def proxy_directory(self) -> ProxyDirectory:
        """Where /proxy/list_services finds the proxies: Cloud Run, or those `assay serve` runs."""

        def build() -> ProxyDirectory:
            s = self.settings
            if s.backend == "gcp":
                from assay.adapters.proxy_directory import CloudRunProxies

                return CloudRunProxies(s.project or "", s.region)
            from assay.adapters.proxy_directory import LocalProxies

            return LocalProxies()

        return self._build("_proxy_directory", build)

    @property
    def log_writer(self) -> LogWriter:
        def build() -> LogWriter:
            import atexit

            from assay.adapters.logstore import LogWriter

            writer = LogWriter(lambda: self.logstore, self.data_dir / "log-spill")
            # An instance stopped with SIGTERM (Cloud Functions, gunicorn) writes what it holds.
            atexit.register(writer.close)
            return writer

        return self._build("_log_writer", build)

    @property
    def secrets(self) -> LocalSecrets:
        from assay.adapters.secrets import LocalSecrets

        return self._build(
            "_secrets",
            lambda: LocalSecrets(self.data_dir / "secrets", generate=not self.settings.production),
        )

    @property
    def accounts(self) -> Accounts:
        """Users, one-time codes and rate-limit counters (a port of its own, beside the store)."""

        def build() -> Accounts:
            if self.settings.backend == "gcp" or self.settings.firestore_emulator_host:
                from assay.adapters.firestore_accounts import FirestoreAccounts

                return FirestoreAccounts(
                    self.settings.project or "assay-local", self.settings.firestore_database
                )
            from assay.adapters.sqlite_accounts import SQLiteAccounts

            return SQLiteAccounts(self.data_dir / "accounts.db")

        return self._build("_accounts", build)

    @property
    def mailer(self) -> Mailer:
        def build() -> Mailer:
            from assay.adapters.email import LogMailer, NoMailer, SMTPMailer

            s = self.settings
            if s.smtp_host:
                return SMTPMailer(
                    s.smtp_host,
                    s.smtp_port,
                    s.smtp_from,
                    username=s.smtp_username,
                    password=s.smtp_password,
                    starttls=s.smtp_starttls,
                )
            return NoMailer() if s.production else LogMailer()

        return self._build("_mailer", build)

    def secret(self, name: str, env: str) -> str:
        """A secret: Secret Manager on gcp, else generated once into the data dir."""
        if self.settings.backend == "gcp":
            from assay.adapters.secret_manager import SecretManagerSecrets

            source = self._build(
                "_secret_manager", lambda: SecretManagerSecrets(self.settings.project or "")
            )
            return source.get(name, env)
        return self.secrets.get(name, env, nbytes=32)

    @property
    def auth(self) -> AuthService:
        def build() -> AuthService:
            import hashlib
            import hmac

            from assay.services.auth import AuthService
            from assay.services.auth_tokens import TokenSigner

            key = self.secret("jwt_signing_key", "ASSAY_JWT_SECRET")
            pepper = hmac.new(key.encode(), b"assay one-time codes", hashlib.sha256).digest()
            return AuthService(self.accounts, self.mailer, TokenSigner(key), pepper)

        return self._build("_auth", build)

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
            import urllib3

            from assay.services.case_runner import CaseRunner
            from assay.services.http_calls import CaseHTTP

            s = self.settings
            pool = urllib3.PoolManager(num_pools=64, maxsize=s.worker_concurrency, block=False)
            http = CaseHTTP(
                pool,
                timeout_s=s.case_timeout_s,
                attempts=s.case_attempts,
                backoff_s=s.case_backoff_s,
                log=self.log_writer,
            )
            return CaseRunner(self.store, http, self.judge)

        return self._build("_case_runner", build)

    def close(self) -> None:
        """Stop deliveries (they log), flush the logs, then close connections. The first two
        close outside the lock: flushing may still build the log store through this container."""
        for name in ("_queue", "_log_writer"):
            with self._lock:
                obj = self._built.pop(name, None)
            if obj is not None:
                obj.close()  # type: ignore[attr-defined]
        with self._lock:
            for name in ("_store", "_logstore", "_accounts"):
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
