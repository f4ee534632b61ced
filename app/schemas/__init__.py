"""Marshmallow schemas of the REST API (German error messages for the common cases)."""

from __future__ import annotations

import math

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

REQUIRED = {"required": "Pflichtfeld fehlt.", "null": "Darf nicht leer sein."}
MAX_JSON_DEPTH = 32


def json_document(value: object) -> None:
    """Data that becomes process data: nested at most MAX_JSON_DEPTH levels, finite numbers."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValidationError(f"Zu tief verschachtelt (höchstens {MAX_JSON_DEPTH} Ebenen).")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError("Nur endliche Zahlen sind erlaubt (kein NaN oder Infinity).")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(1, 80), error_messages=REQUIRED)
    password = fields.String(required=True, validate=validate.Length(1, 200), error_messages=REQUIRED)


class TokenResponse(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class Problem(Schema):
    code = fields.String()
    message = fields.String()
    errors = fields.List(fields.Dict())


class PageArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(1, 200))


class InstanceListArgs(PageArgs):
    process_key = fields.String(validate=validate.Length(max=120))
    status = fields.String(validate=validate.OneOf(
        ["running", "completed", "error", "incident", "suspended", "terminated"]))
    municipality = fields.String(validate=validate.Length(max=8))


class TaskListArgs(PageArgs):
    scope = fields.String(load_default="groups", validate=validate.OneOf(["mine", "groups"]))
    process_key = fields.String(validate=validate.Length(max=120))
    instance_id = fields.Integer(validate=validate.Range(1, 2**63 - 1),
                                metadata={"description": "Nur Aufgaben dieses Vorgangs."})
    municipality = fields.String(validate=validate.Length(max=8))
    due_before = fields.AwareDateTime(default_timezone=None)


class InstanceCreate(Strict):
    process_key = fields.String(required=True, validate=validate.Length(1, 120),
                                error_messages=REQUIRED)
    business_key = fields.String(validate=validate.Length(max=200), allow_none=True)
    data = fields.Dict(keys=fields.String(), load_default=dict, validate=json_document)


class TaskComplete(Strict):
    data = fields.Dict(keys=fields.String(), required=True, error_messages=REQUIRED,
                       validate=json_document)


class MessageSend(Strict):
    correlation = fields.Dict(keys=fields.String(), load_default=dict, validate=json_document)
    payload = fields.Dict(keys=fields.String(), load_default=dict, validate=json_document)


class TaskBrief(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    process_key = fields.String()
    name = fields.String()
    title = fields.String()
    candidate_group = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    municipality_ags = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    follow_up_at = fields.DateTime(allow_none=True)


class TaskContext(Schema):
    schema = fields.Dict(metadata={"description": "Lesendes JSON Schema (Titel, Formate)."})
    ui_schema = fields.Dict()
    data = fields.Dict(metadata={"description": "Die Werte, auf die sich die Aufgabe bezieht."})


class TaskDetail(TaskBrief):
    form_schema = fields.Dict(allow_none=True)
    ui_schema = fields.Dict(allow_none=True)
    data = fields.Dict()
    documentation = fields.String(allow_none=True)
    instance_status = fields.String()
    context = fields.Nested(TaskContext, allow_none=True, metadata={
        "description": "Worum es geht: die Angaben, auf denen die Entscheidung beruht "
                       "(nur was das Kontextformular der Aufgabe im Modell nennt)."})


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The response schema of a paged list of `item` (items, total, page, per_page)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item)), "total": fields.Integer(),
        "page": fields.Integer(), "per_page": fields.Integer(),
    }, name=name)


TaskPage = page_of(TaskBrief, "TaskPage")


class InstanceSummary(Schema):
    id = fields.Integer()
    process_key = fields.String()
    business_key = fields.String(allow_none=True)
    title = fields.String()
    municipality_ags = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer()
    error_message = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    next_timer_at = fields.DateTime(allow_none=True)


InstancePage = page_of(InstanceSummary, "InstancePage")


class CurrentTask(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String()
    candidate_group = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)


class HistoryEntry(Schema):
    at = fields.DateTime()
    user = fields.String(allow_none=True)
    action = fields.String()
    status_before = fields.String(allow_none=True)
    status_after = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)


class InstanceDetail(InstanceSummary):
    definition = fields.Dict()
    # nested (not free dicts) so that dates come out as ISO 8601 like everywhere else
    current_tasks = fields.List(fields.Nested(CurrentTask))
    data = fields.Dict()
    history = fields.List(fields.Nested(HistoryEntry))


class CompleteResult(Schema):
    task = fields.Nested(TaskBrief)
    instance = fields.Dict()


class DefinitionSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    starter_groups = fields.List(fields.String())
    deployed_at = fields.DateTime()


class DeployResult(Schema):
    key = fields.String()
    version = fields.Integer()
    id = fields.Integer()
    created = fields.Boolean()


class MessageResult(Schema):
    instance_id = fields.Integer()
    status = fields.String()
