"""Pydantic models of the Litmus API: request bodies, stored documents and queue messages."""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RunStatus = Literal["Not Started", "Running", "Completed", "Failed"]
CaseStatus = Literal["Passed", "Failed", "Error", "Completed"]
TemplateType = Literal["Test Run", "Test Mission"]
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

T = TypeVar("T", bound=BaseModel)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@ -]{0,199}$")


def _check_id(value: str, name: str) -> str:
    if not _ID.match(value) or value.strip() != value:
        raise ValueError(
            f"'{name}' must be 1-200 characters of letters, digits, space and . _ : @ - "
            "(starting with a letter or digit)"
        )
    return value


def _json_object(value: Any, name: str) -> Any:
    """Request specs may arrive as an object or as a JSON string holding one."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"'{name}' is not valid JSON: {exc.msg}") from None
    return value


class RequestSpec(BaseModel):
    """An HTTP request description with `{placeholders}`: the call made to the system under test."""

    model_config = ConfigDict(extra="allow")

    url: str = Field(min_length=1)
    method: str = "POST"
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        upper = value.upper()
        if upper not in HTTP_METHODS:
            raise ValueError(f"method must be one of {', '.join(HTTP_METHODS)}")
        return upper

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        return {} if value is None else value


def parse_spec(value: Any, name: str) -> RequestSpec | None:
    value = _json_object(value, name)
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"'{name}' must be a JSON object with url, method, headers and body")
    return RequestSpec.model_validate(value)


class EvaluationTypes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    llm_assessment: bool = False
    ragas: bool = False
    deepeval: list[str] = Field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.llm_assessment or self.ragas or bool(self.deepeval)


class _SpecFields(BaseModel):
    """Validators shared by the add and update bodies."""

    @field_validator(
        "test_request", "test_pre_request", "test_post_request", mode="before", check_fields=False
    )
    @classmethod
    def _specs(cls, value: Any, info: Any) -> Any:
        return parse_spec(value, info.field_name)

    @field_validator(
        "template_input_field", "template_output_field", mode="after", check_fields=False
    )
    @classmethod
    def _paths(cls, value: str | None, info: Any) -> str | None:
        from assay.services.json_paths import parse_path

        if value:
            parse_path(value)  # raises ValueError with a clear message
        return value or None

    @field_validator("evaluation_types", mode="before", check_fields=False)
    @classmethod
    def _evals(cls, value: Any) -> Any:
        return {} if value is None else value


class TemplateIn(_SpecFields):
    """Body of POST /templates/add."""

    model_config = ConfigDict(extra="forbid")

    template_id: str
    template_data: list[dict[str, Any]]
    test_request: RequestSpec | None = None
    test_pre_request: RequestSpec | None = None
    test_post_request: RequestSpec | None = None
    template_llm_prompt: str | None = None
    template_input_field: str | None = None
    template_output_field: str | None = None
    template_type: TemplateType = "Test Run"
    mission_duration: int | None = Field(None, ge=1, le=100)
    evaluation_types: EvaluationTypes = Field(default_factory=EvaluationTypes)

    @field_validator("template_id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value, "template_id")

    @model_validator(mode="after")
    def _mission(self) -> TemplateIn:
        if self.template_type == "Test Mission" and self.mission_duration is None:
            raise ValueError("'mission_duration' is required for a Test Mission")
        if self.template_type == "Test Run":
            self.mission_duration = None
        return self


class TemplateUpdate(_SpecFields):
    """Body of PUT /templates/update: every field but the id is optional."""

    model_config = ConfigDict(extra="forbid")

    template_id: str
    template_data: list[dict[str, Any]] | None = None
    test_request: RequestSpec | None = None
    test_pre_request: RequestSpec | None = None
    test_post_request: RequestSpec | None = None
    template_llm_prompt: str | None = None
    template_input_field: str | None = None
    template_output_field: str | None = None
    template_type: TemplateType | None = None
    mission_duration: int | None = Field(None, ge=1, le=100)
    evaluation_types: EvaluationTypes | None = None


class Template(TemplateIn):
    """A stored template (what GET /templates/<id> returns)."""

    model_config = ConfigDict(extra="ignore")

    created_at: str | None = None
    updated_at: str | None = None


class SubmitRun(BaseModel):
    """Body of POST /runs/submit (and /runs/submit_simple, which only needs the ids)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    template_id: str
    test_request: RequestSpec | None = None
    pre_request: RequestSpec | None = None
    post_request: RequestSpec | None = None
    auth_token: str | None = None
    evaluation_types: EvaluationTypes | None = None

    @field_validator("run_id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value, "run_id")

    @field_validator("test_request", "pre_request", "post_request", mode="before")
    @classmethod
    def _specs(cls, value: Any, info: Any) -> Any:
        return parse_spec(value, info.field_name)

    @field_validator("evaluation_types", mode="before")
    @classmethod
    def _evals(cls, value: Any) -> Any:
        return None if value in (None, {}) else value


class InvokeRun(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    template_id: str


class RateBody(BaseModel):
    rating: int = Field(ge=1, le=5, strict=True)


class CommentBody(BaseModel):
    comment: str = Field(min_length=1, max_length=10_000)


class Run(BaseModel):
    """A stored run. Counters are kept by the store atomically; `progress` derives from them."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    template_id: str
    template_type: TemplateType = "Test Run"
    status: RunStatus = "Not Started"
    generation: int = 1
    total: int = 0
    done: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    completed: int = 0
    start_time: str
    end_time: str | None = None
    template_input_field: str | None = None
    template_output_field: str | None = None
    template_llm_prompt: str | None = None
    mission_duration: int | None = None
    evaluation_types: EvaluationTypes = Field(default_factory=EvaluationTypes)
    error: str | None = None
    # A secret for `{auth_token}`: substituted at execution time, never returned by any route.
    auth_token: str | None = Field(None, exclude=True)

    @property
    def progress(self) -> str:
        return f"{self.done}/{self.total}"

    def public(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "template_id": self.template_id,
            "template_type": self.template_type,
            "status": self.status,
            "progress": self.progress,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "completed": self.completed,
            "total": self.total,
        }


def trusted(model: type[T], fields: dict[str, Any]) -> T:
    """Rebuild a model from our own store without validation or copying.

    `model_construct` costs ~40 us per object (it walks every field for defaults); reading
    the 1,000 cases of a run status is on a hot path, and stores always hold every field.
    """
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", fields)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


class Case(BaseModel):
    """A stored test case: the request to send, the golden answer and, once final, the result."""

    model_config = ConfigDict(extra="ignore")

    id: str
    index: int
    generation: int = 1
    request: dict[str, Any] | None = None
    pre_request: dict[str, Any] | None = None
    post_request: dict[str, Any] | None = None
    golden_response: Any = None
    mission: str | None = None
    tracing_id: str
    result: dict[str, Any] | None = None
    flagged: bool = False
    rating: int = 0
    comments: list[str] = Field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.result is not None


class CaseMessage(BaseModel):
    """One queue message: execute this case of this generation of the run."""

    run_id: str
    case_id: str
    generation: int
