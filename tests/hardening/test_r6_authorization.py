"""R6 — the authorization matrix, generated from the app's route map.

Every route × every demo role (plus anonymous) × an object of the own and of a foreign
municipality is tested against the ONE table in tests/hardening/authz_matrix.py; a route without
an entry there fails `test_every_route_has_an_entry`.
"""

from __future__ import annotations

import uuid
from io import BytesIO

import pytest
from sqlalchemy import select, update

from app.models import ProcessInstance, ServiceJob, User
from tests.hardening.authz_matrix import (
    ANY,
    DENY,
    FORBIDDEN,
    HIDDEN,
    LOGIN,
    MATRIX,
    NOT_FOUND,
    OK,
    PASS,
    REFUSED,
    ROLES,
    UNAUTH,
    USERS,
)
from tests.integration.helpers import BPMN_HEAD
from tests.integration.web_support import PDF

SKIP_METHODS = {"HEAD", "OPTIONS"}
VARIANTS = ("own", "foreign")

MESSAGE_PROCESS = (BPMN_HEAD.format(pid="r6_nachricht") + """
  <bpmn:message id="M" name="r6_nachricht" />
  <bpmn:process id="r6_nachricht" name="R6 Nachricht" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>warten</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="warten"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="warten" />
    <bpmn:sequenceFlow id="f2" sourceRef="warten" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()

SERVICE_PROCESS = (BPMN_HEAD.format(pid="r6_dienst") + """
  <bpmn:process id="r6_dienst" name="R6 Dienst" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="svc" name="Fachverfahren">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test_flaky" resultVariable="ergebnis">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="svc" />
    <bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def _route_keys(app) -> set[tuple[str, str]]:  # noqa: ANN001
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - SKIP_METHODS}


def test_every_route_has_an_entry(app):
    missing = sorted(_route_keys(app) - set(MATRIX))
    assert missing == [], (
        "Routes without an entry in tests/hardening/authz_matrix.py (declare who may do what):\n"
        + "\n".join(f"    ({m!r}, {r!r})" for m, r in missing))


def test_the_matrix_names_no_route_that_does_not_exist(app):
    assert sorted(set(MATRIX) - _route_keys(app)) == []


# ---------------------------------------------------------------- the world the requests act on

class World:
    """Creates what a request needs, through the service layer (fast, no permission noise)."""

    def __init__(self, app, client, as_user, demo_ags):  # noqa: ANN001
        from app.services.auth import actor_for

        self.app, self.client, self.as_user = app, client, as_user
        self.platform = app.extensions["platform"]
        self.ags = {"own": demo_ags[0], "foreign": demo_ags[1]}
        with self.platform.db.unit_of_work() as s:
            ids = dict(s.execute(select(User.username, User.id)).all())
            self.owner = {v: actor_for(s, ids[f"kommune-{a}"]) for v, a in self.ags.items()}
            self.admin = actor_for(s, ids["admin"])
            self.sb = actor_for(s, ids["sb1"])
        self._deployed: set[str] = set()

    def deploy(self, key: str, content: bytes) -> None:
        from app.services.definitions import deploy_files

        if key not in self._deployed:
            deploy_files(self.platform, self.admin, {f"{key}.bpmn": content})
            self._deployed.add(key)

    def instance(self, variant: str) -> dict:
        from app.services import processes

        return processes.start_process(self.platform, self.owner[variant], "demo_antrag", None, {})

    def task(self, variant: str) -> tuple[int, str]:
        started = self.instance(variant)
        return started["id"], started["current_tasks"][0]["id"]


def _headers(world: World, role: str) -> dict:
    return {} if role == "anonym" else dict(world.as_user(USERS[role]).headers)


# ---------------------------------------------------------------- request builders
# each returns (method, url, keyword arguments for the test client, visibility check or None)

def _plain(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {}, None


def _token(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    name = "sb1" if role == "anonym" else USERS[role]
    if name == "kommune":
        name = f"kommune-{w.ags['own']}"
    return method, rule, {"json": {"username": name, "password": "demo"}}, None


def _deploy(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {"data": {"files": [(BytesIO(MESSAGE_PROCESS), "r6_nachricht.bpmn")]},
                          "content_type": "multipart/form-data"}, None


def _start(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {"json": {"process_key": "demo_antrag",
                                   "data": {"municipality_ags": w.ags[variant]}}}, None


def _instance_list(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    iid = w.instance(variant)["id"]
    return method, rule, {"query_string": {"per_page": 200}}, \
        lambda body: iid in [i["id"] for i in body["items"]]


def _instance(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:instance_id>", str(w.instance(variant)["id"])), {}, None


def _suspended_instance(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    from app.services import processes

    iid = w.instance(variant)["id"]
    processes.set_status(w.platform, w.admin, iid, "suspend")
    return method, rule.replace("<int:instance_id>", str(iid)), {}, None


def _failed_instance(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    """A case in `error` whose open task could not be assigned (a retry assigns it)."""
    iid, task_id = w.task(variant)
    with w.platform.db.unit_of_work() as s:
        s.execute(update(ProcessInstance).where(ProcessInstance.id == iid).values(
            status="error", error_task_id=task_id, error_message="Zuständigkeit unbekannt"))
    return method, rule.replace("<int:instance_id>", str(iid)), {}, None


def _document_upload(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    iid = w.instance(variant)["id"]
    return method, rule.replace("<int:instance_id>", str(iid)), {
        "data": {"file": (BytesIO(PDF), "nachweis.pdf")}, "content_type": "multipart/form-data"}, None


def _document(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    from app.services import documents

    iid = w.instance(variant)["id"]
    doc = documents.upload(w.platform, w.owner[variant], iid, "nachweis.pdf", PDF)
    return method, rule.replace("<int:document_id>", str(doc["id"])), {}, None


def _task_list(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    _, task_id = w.task(variant)
    return method, rule, {"query_string": {"per_page": 200}}, \
        lambda body: task_id in [t["id"] for t in body["items"]]


def _task(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    _, task_id = w.task(variant)
    return method, rule.replace("<uuid:task_id>", task_id), {}, None


def _claimed_task(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    from app.services import tasks

    _, task_id = w.task(variant)
    tasks.claim(w.platform, w.owner[variant], task_id)
    return method, rule.replace("<uuid:task_id>", task_id), {}, None


def _complete(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    _, task_id = w.task(variant)
    return method, rule.replace("<uuid:task_id>", task_id), {"json": {"data": {
        "vorhaben": "Digitale Bauakte", "betrag": 80000, "thema": "verwaltung"}}}, None


def _message(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    from app.services import processes

    w.deploy("r6_nachricht", MESSAGE_PROCESS)
    iid = processes.start_process(w.platform, w.sb, "r6_nachricht", None, {})["id"]
    return method, rule.replace("<string:name>", "r6_nachricht"), {
        "json": {"correlation": {"instance_id": iid}}}, None


def _incident(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    from app.services import processes

    w.deploy("r6_dienst", SERVICE_PROCESS)
    iid = processes.start_process(w.platform, w.sb, "r6_dienst", None, {})["id"]
    with w.platform.db.unit_of_work() as s:
        job_id = s.scalar(select(ServiceJob.id).where(ServiceJob.instance_id == iid))
        s.execute(update(ServiceJob).where(ServiceJob.id == job_id).values(status="failed", attempts=3))
        s.execute(update(ProcessInstance).where(ProcessInstance.id == iid).values(status="incident"))
    return method, rule.replace("<int:incident_id>", str(job_id)), {}, None


def _user_create(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {"json": {"username": f"r6-{uuid.uuid4().hex[:10]}", "password": "sicheres-passwort",
                                   "groups": ["gutachter"]}}, None


def _user_update(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    from app.services.users import create_user

    with w.platform.db.unit_of_work() as s:
        uid = s.scalar(select(User.id).where(User.username == "r6-ziel"))
        if uid is None:
            uid = create_user(s, w.admin, "r6-ziel", "sicheres-passwort", ["gutachter"]).id
    return method, rule.replace("<int:user_id>", str(uid)), {"json": {"display_name": "R6 Ziel"}}, None


def _new_position(w: World) -> int:
    from app.services import ledger

    return ledger.create_position(w.platform, w.admin, {
        "haushaltsjahr": 2031, "titel": f"R6-{uuid.uuid4().hex[:8]}", "bezeichnung": "R6",
        "ansatz_cents": 100_000})["id"]


def _budget_create(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {"json": {"haushaltsjahr": 2031, "titel": f"R6-{uuid.uuid4().hex[:8]}",
                                   "ansatz_cents": 100_000}}, None


def _budget_position(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:position_id>", str(_new_position(w))), {}, None


def _budget_update(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:position_id>", str(_new_position(w))), {
        "json": {"ansatz_cents": 200_000, "vermerk": "R6 Anpassung"}}, None


def _municipality_filter(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {"query_string": {"municipality": w.ags[variant]}}, None


def _empty_upload(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule, {"data": {"file": (BytesIO(b""), "leer.csv")}, "content_type": "multipart/form-data"}, None


def _municipality(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<string:ags>", w.ags[variant]), {}, None


def _call_applications(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<kennung>", "FA-R6-UNBEKANNT"), {}, None


def _hfag_status(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<string:ags>", w.ags[variant]), {"json": {"hfag_status": None}}, None


def _year(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:jahr>", "2031"), {}, None


def _year_values(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:jahr>", "2031"), {"json": {"budget_cents": 1_600_000_000}}, None


def _year_note(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:jahr>", "2031"), {"json": {"note": "R6"}}, None


def _missing_run(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:run_id>", "999999"), {}, None


def _missing_run_note(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, rule.replace("<int:run_id>", "999999"), {"json": {"note": "R6 abgelehnt"}}, None


def _static(w: World, method: str, rule: str, role: str, variant: str):  # noqa: ANN202
    return method, "/static/dist/app.css", {}, None


BUILDERS = {name[1:]: fn for name, fn in dict(globals()).items()
            if name.startswith("_") and callable(fn) and fn.__code__.co_varnames[:5] ==
            ("w", "method", "rule", "role", "variant")}
MUNICIPAL = {"start", "instance_list", "instance", "suspended_instance", "failed_instance", "document_upload",
             "document",
             "task_list", "task", "claimed_task", "complete", "municipality_filter", "municipality",
             "hfag_status"}


def _verdict(outcome: str, status: int, body, visible) -> bool:  # noqa: ANN001
    if status >= 500:
        return False
    if outcome == OK:
        return 200 <= status < 300 and (visible is None or visible(body))
    if outcome == HIDDEN:
        return 200 <= status < 300 and visible is not None and not visible(body)
    if outcome == DENY:
        return status in (403, 404)
    if outcome in (FORBIDDEN, NOT_FOUND, UNAUTH):
        return status == int(outcome)
    if outcome == PASS:
        return status not in (401, 403)
    raise AssertionError(f"API outcome {outcome!r} not understood")


API_ROUTES = sorted(k for k, e in MATRIX.items() if e.request != "web")
WEB_ROUTES = sorted(k for k, e in MATRIX.items() if e.request == "web")


@pytest.mark.parametrize("key", API_ROUTES, ids=[f"{m} {r}" for m, r in API_ROUTES])
def test_route_authorization(key, app, client, as_user, demo_ags):
    method, rule = key
    entry = MATRIX[key]
    assert set(entry.expect) == set(ROLES), f"{key}: every role needs an expectation"
    build = BUILDERS[entry.request]
    world = World(app, client, as_user, demo_ags)
    mismatches = []
    for role in ROLES:
        expected = entry.expect[role]
        for variant in VARIANTS if entry.request in MUNICIPAL else ("own",):
            outcome = expected[VARIANTS.index(variant)] if isinstance(expected, tuple) else expected
            m, url, kwargs, visible = build(world, method, rule, role, variant)
            r = client.open(url, method=m, headers=_headers(world, role), **kwargs)
            body = r.get_json(silent=True)
            r.close()
            if not _verdict(outcome, r.status_code, body, visible):
                mismatches.append(f"{role:<22} {variant:<7} expected {outcome:<6} got {r.status_code} "
                                  f"{str(body)[:160]}")
    assert mismatches == [], f"{method} {rule}\n" + "\n".join(mismatches)


# ---------------------------------------------------------------- web routes (login required)

def _web_url(rule: str) -> str:
    import re

    values = {"int": "999999", "uuid": "00000000-0000-4000-8000-000000000000", "path": "x"}
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: values.get(m.group(1) or "", "x"), rule)


def _web_verdict(outcome: str, status: int, location: str) -> bool:
    if status >= 500:
        return False
    if outcome == LOGIN:
        return status == 401 or (status in (301, 302, 303, 307) and "/anmelden" in location)
    if outcome == REFUSED:
        return not 200 <= status < 300
    if outcome == ANY:
        return True
    if outcome == OK:
        return 200 <= status < 300
    raise AssertionError(f"web outcome {outcome!r} not understood")


@pytest.mark.parametrize("key", WEB_ROUTES, ids=[f"{m} {r}" for m, r in WEB_ROUTES])
def test_web_route_requires_login(key, app):
    method, rule = key
    entry = MATRIX[key]
    assert set(entry.expect) == set(ROLES)
    platform = app.extensions["platform"]
    with platform.db.unit_of_work() as s:
        ids = dict(s.execute(select(User.username, User.id)).all())
    from app.domain.demo import demo_municipalities

    own = f"kommune-{demo_municipalities()[0]['ags']}"
    mismatches = []
    for role in ROLES:
        client = app.test_client()
        if role != "anonym":
            with client.session_transaction() as sess:
                sess["user_id"] = ids[own if role == "kommune" else USERS[role]]
        r = client.open(_web_url(rule), method=method)
        r.close()
        outcome = entry.expect[role]
        if not _web_verdict(outcome, r.status_code, r.headers.get("Location", "")):
            mismatches.append(f"{role:<22} expected {outcome:<7} got {r.status_code} "
                              f"{r.headers.get('Location', '')}")
    assert mismatches == [], f"{method} {rule}\n" + "\n".join(mismatches)


def test_every_builder_named_in_the_matrix_exists():
    assert {e.request for e in MATRIX.values()} - {"web"} <= set(BUILDERS)
