"""Issue 12 — a task's context never carries data across cases or municipalities.

The context provider of the evaluators' task reads another case (the application); a model or
task data that names a case which is not an application of the task's call gets nothing. A
municipality does not reach another municipality's case through the partner rule, and a
partner only reads the lead's case: it cannot add files to it."""

from __future__ import annotations

from io import BytesIO

from app.services import task_context
from tests.hardening.conftest import assert_problem


def _case(as_user, who: str) -> int:  # noqa: ANN001
    r = as_user(who).post("/api/process-instances", json={"process_key": "demo_antrag"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_scored_application_provider_refuses_a_case_that_is_not_an_application_of_the_call(
        as_user, platform):
    foreign = _case(as_user, "kommune-fremd")
    with platform.db.unit_of_work() as s:
        for data in ({"antrag": {"antrag_id": foreign}, "aufruf_kennung": "FA-GIBT-ES-NICHT"},
                     {"antrag": {"antrag_id": foreign}},
                     {"antrag": {"antrag_id": "1; DROP TABLE x"}, "aufruf_kennung": "FA"},
                     {"antrag": "kein Objekt"}, {}):
            assert task_context.scored_application(platform, s, data) == {}


def test_context_shows_only_what_the_context_form_declares(platform):
    schema = {"type": "object", "properties": {"cluster_name": {"type": "string"}}}
    forms = {"k.schema.json": schema}
    props = {"contextJsonSchemaFilename": "k.schema.json", "contextProvider": "unbekannt"}
    with platform.db.unit_of_work() as s:
        ctx = task_context.build(platform, s, props, forms, {
            "cluster_name": "A", "ansprechperson_email": "a@b.example", "instance_id": 1})
        assert ctx["data"] == {"cluster_name": "A"}
        assert task_context.build(platform, s, {"contextJsonSchemaFilename": "fehlt.json"},
                                  forms, {"cluster_name": "A"}) is None


def test_a_municipality_does_not_see_a_foreign_case_and_a_reader_cannot_add_files(as_user):
    foreign = _case(as_user, "kommune-fremd")
    own = as_user("kommune")
    assert_problem(own.get(f"/api/process-instances/{foreign}"), 404)
    r = own.post(f"/api/process-instances/{foreign}/documents",
                 data={"file": (BytesIO(b"%PDF-1.4\n%%EOF\n"), "x.pdf")},
                 content_type="multipart/form-data")
    assert_problem(r, 404)
    listed = own.get("/api/tasks", query_string={"instance_id": foreign}).get_json()["items"]
    assert listed == []
