"""What /proxy/* takes and answers (documented in /openapi.json from these models)."""

from __future__ import annotations

import re
from datetime import date as Day
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from assay.errors import BadRequest

_DAY = re.compile(r"^(\d{4})(-?)(\d{2})\2(\d{2})$")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000


def parse_day(value: str | None) -> Day:
    """`YYYY-MM-DD` or `YYYYMMDD` (a UTC day); anything else is the client's error."""
    if not value:
        raise BadRequest('Missing "date" parameter', field="date")
    match = _DAY.match(value.strip())
    try:
        if match is None:
            raise ValueError
        return Day(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        raise BadRequest(
            f'Invalid "date" parameter {value!r}: use YYYY-MM-DD or YYYYMMDD', field="date"
        ) from None


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    date: Day = Field(description="The UTC day, YYYY-MM-DD or YYYYMMDD")
    context: str | None = Field(
        None, description="Only this context (a litmus-context id, or a case's tracing id)"
    )

    @field_validator("date", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Day:
        return value if isinstance(value, Day) else parse_day(value)

    @field_validator("context", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None


class LogRowsQuery(LogQuery):
    flatten: bool = Field(False, description="Join nested keys with `_` (list items by index)")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="At most this many rows")


class LoggedCalls(RootModel[list[dict[str, Any]]]):
    """Logged calls, oldest first, with the Litmus field names (tracingID, litmusContext,
    requestHeaders, requestBody, responseStatus, responseBody, latency, ...); flattened with
    `flatten=true`."""


class AggRow(BaseModel):
    litmuscontext: str | None
    requestheaders_x_goog_request_params: str | None
    total_token_count: int | None
    prompt_token_count: int | None
    candidates_token_count: int | None
    average_latency: float | None = Field(description="Milliseconds")


class AggRows(RootModel[list[AggRow]]):
    """Token counts and average latency per context and x-goog-request-params."""


class ProxyService(BaseModel):
    name: str
    project_id: str
    region: str
    uri: str
    created: str
    updated: str


class ProxyServices(BaseModel):
    proxy_services: list[ProxyService]
