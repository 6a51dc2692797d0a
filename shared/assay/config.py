"""The one `Settings`, read once from the environment (names in docs/configuration.md)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", case_sensitive=False)

    backend: Literal["local", "gcp"] = Field("local", validation_alias=_env("ASSAY_BACKEND"))
    env: str = Field("development", validation_alias=_env("ASSAY_ENV"))
    data_dir: Path = Field(Path(".assay"), validation_alias=_env("ASSAY_DATA_DIR"))
    host: str = Field("127.0.0.1", validation_alias=_env("ASSAY_HOST"))
    port: int = Field(8000, validation_alias=_env("PORT", "ASSAY_PORT"))

    # Litmus HTTP Basic auth. No default password: locally one is generated into the data dir.
    username: str = Field("admin", validation_alias=_env("ASSAY_USERNAME"))
    password: str | None = Field(None, validation_alias=_env("ASSAY_PASSWORD"))
    disable_auth: bool = Field(False, validation_alias=_env("DISABLE_AUTH"))

    max_body_bytes: int = Field(10 * 1024 * 1024, validation_alias=_env("ASSAY_MAX_BODY_BYTES"))

    # Test runs
    worker_concurrency: int = Field(
        64, ge=1, le=1024, validation_alias=_env("ASSAY_WORKER_CONCURRENCY")
    )
    case_timeout_s: float = Field(30.0, gt=0, validation_alias=_env("ASSAY_CASE_TIMEOUT"))
    case_attempts: int = Field(3, ge=1, le=10, validation_alias=_env("ASSAY_CASE_ATTEMPTS"))
    case_backoff_s: float = Field(0.2, ge=0, validation_alias=_env("ASSAY_CASE_BACKOFF"))
    queue_max_deliveries: int = Field(5, ge=1, validation_alias=_env("ASSAY_QUEUE_MAX_DELIVERIES"))
    queue_ack_deadline_s: float = Field(
        600.0, gt=0, validation_alias=_env("ASSAY_QUEUE_ACK_DEADLINE")
    )

    # Models
    judge_model: str = Field("local:", validation_alias=_env("ASSAY_JUDGE_MODEL"))
    model_1: str = Field("local:model-1", validation_alias=_env("ASSAY_MODEL_1"))
    model_2: str = Field("local:model-2", validation_alias=_env("ASSAY_MODEL_2"))
    openai_api_key: str | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    google_api_key: str | None = Field(
        None, validation_alias=_env("GOOGLE_API_KEY", "GEMINI_API_KEY")
    )
    gemini_base_url: str | None = Field(None, validation_alias=_env("ASSAY_GEMINI_BASE_URL"))
    llm_timeout_s: float = Field(60.0, gt=0, validation_alias=_env("ASSAY_LLM_TIMEOUT"))

    # Google Cloud
    project: str | None = Field(None, validation_alias=_env("GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"))
    region: str = Field("us-central1", validation_alias=_env("GOOGLE_CLOUD_REGION", "GCP_REGION"))
    firestore_database: str = Field("(default)", validation_alias=_env("ASSAY_FIRESTORE_DATABASE"))
    pubsub_topic: str = Field("assay-test-cases", validation_alias=_env("ASSAY_PUBSUB_TOPIC"))
    firestore_emulator_host: str | None = Field(
        None, validation_alias=_env("FIRESTORE_EMULATOR_HOST")
    )
    pubsub_emulator_host: str | None = Field(None, validation_alias=_env("PUBSUB_EMULATOR_HOST"))
    bigquery_dataset: str = Field("assay_logs", validation_alias=_env("ASSAY_BIGQUERY_DATASET"))

    # LLM proxy (docs/proxy.md): a deployed proxy forwards to its one upstream; `assay serve`
    # starts one per `name=url` entry of ASSAY_PROXY_UPSTREAMS.
    proxy_upstream: str | None = Field(None, validation_alias=_env("ASSAY_PROXY_UPSTREAM"))
    proxy_upstreams: str = Field("", validation_alias=_env("ASSAY_PROXY_UPSTREAMS"))
    proxy_log_secrets: bool = Field(
        False, validation_alias=_env("ASSAY_PROXY_LOG_SECRETS", "LOG_AUTHORIZATION_HEADER")
    )
    proxy_log_body_limit: int = Field(
        64 * 1024, ge=1024, validation_alias=_env("ASSAY_PROXY_LOG_BODY_LIMIT")
    )
    proxy_connect_timeout_s: float = Field(
        10.0, gt=0, validation_alias=_env("ASSAY_PROXY_CONNECT_TIMEOUT")
    )
    proxy_read_timeout_s: float = Field(600.0, gt=0, validation_alias=_env("ASSAY_PROXY_TIMEOUT"))
    # Requests with inline images or audio are large (Gemini takes 20 MB inline).
    proxy_max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, validation_alias=_env("ASSAY_PROXY_MAX_BODY_BYTES")
    )

    # Citrus accounts: one-time codes by SMTP (or, locally without a host, the server log)
    smtp_host: str | None = Field(None, validation_alias=_env("ASSAY_SMTP_HOST"))
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias=_env("ASSAY_SMTP_PORT"))
    smtp_username: str | None = Field(None, validation_alias=_env("ASSAY_SMTP_USERNAME"))
    smtp_password: str | None = Field(None, validation_alias=_env("ASSAY_SMTP_PASSWORD"))
    smtp_from: str = Field("Assay <no-reply@localhost>", validation_alias=_env("ASSAY_SMTP_FROM"))
    smtp_starttls: bool = Field(True, validation_alias=_env("ASSAY_SMTP_STARTTLS"))
    # Comma-separated addresses / CIDRs of proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = Field("", validation_alias=_env("ASSAY_TRUSTED_PROXIES"))
    # Citrus limits, reported by /api/info and enforced by the chat routes.
    max_message_length: int = Field(10000, ge=1, validation_alias=_env("ASSAY_MAX_MESSAGE_LENGTH"))
    max_chat_history: int = Field(20, ge=0, validation_alias=_env("ASSAY_MAX_CHAT_HISTORY"))
    max_concurrent_requests: int = Field(
        100, ge=1, validation_alias=_env("ASSAY_MAX_CONCURRENT_REQUESTS")
    )
    request_timeout_s: int = Field(300, ge=1, validation_alias=_env("ASSAY_REQUEST_TIMEOUT"))

    @field_validator("disable_auth", mode="before")
    @classmethod
    def _truthy(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad entry
        return value

    @property
    def production(self) -> bool:
        return self.env == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
