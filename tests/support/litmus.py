"""Helpers to build Litmus templates and runs in tests."""

from __future__ import annotations

import uuid
from typing import Any


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def template(
    sut_url: str, items: list[dict[str, Any]] | None = None, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "template_id": uid("tpl"),
        "template_data": items
        if items is not None
        else [
            {
                "query": "What is the capital of France?",
                "response": "What is the capital of France?",
            },
            {"query": "Name a colour", "response": "Bananas grow on trees in tropical places"},
        ],
        "test_request": {
            "url": f"{sut_url}/answer",
            "method": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": {"query": "{query}"},
        },
        "template_llm_prompt": "Compare the statement with the best-known response.",
        "template_input_field": "body.query",
        "template_output_field": "answer",
        "evaluation_types": {"llm_assessment": True},
    }
    body.update(overrides)
    return body
