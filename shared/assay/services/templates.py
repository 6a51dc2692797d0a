"""Template use cases."""

from __future__ import annotations

from typing import Any

from assay.adapters.store import Store
from assay.errors import BadRequest, NotFound
from assay.models.litmus import Template, TemplateIn, TemplateUpdate
from assay.timeutil import now_iso


def add_template(store: Store, body: TemplateIn) -> str:
    now = now_iso()
    store.add_template(Template(**body.model_dump(), created_at=now, updated_at=now))
    return f"Template '{body.template_id}' added successfully"


def update_template(store: Store, body: TemplateUpdate) -> str:
    fields = body.model_dump(exclude_unset=True, exclude={"template_id"})
    if not fields:
        raise BadRequest("No fields provided for update")
    for key in ("test_request", "test_pre_request", "test_post_request", "evaluation_types"):
        model = getattr(body, key)
        if key in fields and model is not None:
            fields[key] = model.model_dump()
    fields["updated_at"] = now_iso()
    store.update_template(body.template_id, fields)
    return f"Template '{body.template_id}' updated successfully"


def get_template(store: Store, template_id: str) -> dict[str, Any]:
    template = store.get_template(template_id)
    if template is None:
        raise NotFound(f"Template with ID '{template_id}' not found")
    return template.model_dump(mode="json")


def delete_template(store: Store, template_id: str) -> str:
    if not store.delete_template(template_id):
        raise NotFound(f"Template with ID '{template_id}' not found")
    return f"Template '{template_id}' deleted successfully"


def list_templates(store: Store, template_type: str | None) -> dict[str, Any]:
    if template_type is not None and template_type not in ("Test Run", "Test Mission"):
        raise BadRequest("'type' must be 'Test Run' or 'Test Mission'")
    templates = store.list_templates(template_type)
    return {
        "template_ids": [t.template_id for t in templates],
        "templates": [
            {"template_id": t.template_id, "template_type": t.template_type} for t in templates
        ],
    }
