"""R4 — hostile inputs: each is refused with a 4xx, a machine-readable code and a German
message; no 5xx; the database is unchanged.

The corpus lives in tests/hardening/corpus/ (see its README): XML attacks as files, hostile
requests, injection strings and file names as JSON. Inputs too large to keep in the repository
(huge attributes, thousands of elements, JSON bombs, oversized uploads) are generated here.

Free-text fields are the one place where an injection string is *valid input*: there it must be
stored and returned verbatim (bound parameters, JSON escaping) and nothing else may change.
"""

from __future__ import annotations

import json
import urllib.parse
from io import BytesIO
from pathlib import Path

import pytest

from tests.hardening.conftest import assert_problem, changed, fingerprint, trap_server
from tests.integration.helpers import BPMN_HEAD, open_tasks

CORPUS = Path(__file__).parent / "corpus"
REQUESTS = json.loads((CORPUS / "requests.json").read_text(encoding="utf-8"))
INJECTIONS = json.loads((CORPUS / "injection_strings.json").read_text(encoding="utf-8"))
FILENAMES = json.loads((CORPUS / "filenames.json").read_text(encoding="utf-8"))
XML_FILES = sorted((CORPUS / "xml").iterdir())
LOGGED_ON_PURPOSE = {"login_attempt"}  # failed logins are recorded by design

VALID_BPMN = (BPMN_HEAD.format(pid="r4_gueltig") + """
  <bpmn:process id="r4_gueltig" name="R4 gültig" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def deploy(user, files: dict[str, bytes]):  # noqa: ANN001, ANN201
    """POST /api/process-definitions with a hand-encoded multipart body (the test client's own
    encoder spools large bodies to a temporary file it never closes)."""
    boundary = "r4-grenze-8f3a"
    parts = []
    for name, content in files.items():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{quoted}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return user.client.post("/api/process-definitions", data=body, headers=user.headers,
                            content_type=f"multipart/form-data; boundary={boundary}")


def _fp(platform) -> dict:  # noqa: ANN001
    return {k: v for k, v in fingerprint(platform).items() if k not in LOGGED_ON_PURPOSE}


def _send(client, user, entry: dict):  # noqa: ANN001, ANN202
    kwargs: dict = {"headers": dict(user.headers) if user else {}}
    if "json" in entry:
        kwargs["json"] = entry["json"]
    elif "raw" in entry:
        kwargs["data"] = entry["raw"].encode(entry.get("raw_encoding", "utf-8"))
        kwargs["content_type"] = entry.get("content_type", "application/json")
    if "query" in entry:
        kwargs["query_string"] = entry["query"]
    return client.open(entry["path"], method=entry["method"], **kwargs)


# ---------------------------------------------------------------- requests: types, fields, bodies

@pytest.mark.parametrize("entry", REQUESTS, ids=[e["name"] for e in REQUESTS])
def test_hostile_request_is_refused_cleanly(entry, client, as_user, platform):
    user = as_user(entry["user"]) if entry["user"] else None
    before = _fp(platform)
    r = _send(client, user, entry)
    body = assert_problem(r, tuple(entry["expect"]))
    if "code" in entry:
        assert body["code"] == entry["code"], body
    assert changed(before, _fp(platform)) == {}


# ---------------------------------------------------------------- XML attacks (deploy endpoint)

@pytest.fixture
def trap():  # noqa: ANN201
    """A local HTTP server that records any request an XML parser might make."""
    with trap_server(b"<!ENTITY leak 'LEAKED'>") as server:
        yield server


@pytest.mark.parametrize("path", XML_FILES, ids=[p.name for p in XML_FILES])
def test_hostile_xml_is_refused_without_resolving_anything(path, as_user, platform, trap):
    content = path.read_bytes().replace(b"__PORT__", str(trap.port).encode())
    files = {path.name: content}
    if path.suffix == ".dmn":
        files["r4_gueltig.bpmn"] = VALID_BPMN  # the DMN must be the only reason to refuse
    before = _fp(platform)
    r = deploy(as_user("modeler1"), files)
    body = assert_problem(r, 422)
    assert body["code"] == "definition_invalid", body
    assert body["errors"] and all(e["message"] and e["path"] for e in body["errors"]), body
    text = json.dumps(body, ensure_ascii=False)
    assert "root:" not in text and "LEAKED" not in text and "Traceback" not in text
    assert trap.hits == []
    assert changed(before, _fp(platform)) == {}


def _chain(pid: str, n: int) -> bytes:
    tasks = "".join(f'<bpmn:scriptTask id="t{i}"><bpmn:incoming>f{i}</bpmn:incoming>'
                    f'<bpmn:outgoing>f{i + 1}</bpmn:outgoing><bpmn:script>x = {i}</bpmn:script>'
                    f'</bpmn:scriptTask>' for i in range(n))
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"s" if i == 0 else f"t{i - 1}"}" '
                    f'targetRef="t{i}" />' for i in range(n))
    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>{tasks}{flows}
    <bpmn:endEvent id="e"><bpmn:incoming>f{n}</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f{n}" sourceRef="t{n - 1}" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


GENERATED_XML = {
    # > 5 MB in one attribute: refused before parsing
    "huge-attribute-6MB": lambda: VALID_BPMN.replace(b'name="R4 g', b'name="' + b"A" * 6_000_000 + b'R4 g'),
    # a 4.5 MB attribute that would end up in a 300-character column
    "huge-attribute-in-name": lambda: VALID_BPMN.replace(b'name="R4 g', b'name="' + b"A" * 4_500_000 + b'R4 g'),
    "id-longer-than-a-process-key": lambda: VALID_BPMN.replace(b'"r4_gueltig"', b'"r' + b"4" * 150 + b'"'),
    # thousands of elements in one chain: the engine's parser would recurse too deep
    "3000-element-chain": lambda: _chain("r4_kette", 3000),
    # more elements than any real model has
    "25000-elements": lambda: VALID_BPMN.replace(
        b"<bpmn:startEvent", b"<bpmn:documentation>" + b"<x/>" * 25_000 + b"</bpmn:documentation><bpmn:startEvent"),
}


@pytest.mark.parametrize("name", sorted(GENERATED_XML))
def test_oversized_models_are_refused(name, as_user, platform):
    before = _fp(platform)
    r = deploy(as_user("modeler1"), {"r4.bpmn": GENERATED_XML[name]()})
    body = assert_problem(r, 422)
    assert body["code"] in ("definition_invalid", "file_too_large"), body
    assert "RecursionError" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert changed(before, _fp(platform)) == {}


# ---------------------------------------------------------------- uploads: names and sizes

@pytest.mark.parametrize("name", FILENAMES, ids=[repr(n)[:40] for n in FILENAMES])
def test_path_traversal_and_odd_file_names_are_refused(name, as_user, platform):
    before = _fp(platform)
    r = deploy(as_user("modeler1"), {name: VALID_BPMN})
    body = assert_problem(r, (400, 422))
    assert body["code"] in ("invalid_filename", "no_files", "bad_request"), body
    assert changed(before, _fp(platform)) == {}


def test_too_many_files_too_large_file_and_too_large_body(as_user, platform, client):
    modeler = as_user("modeler1")
    before = _fp(platform)
    many = {f"f{i}.bpmn": VALID_BPMN for i in range(51)}
    assert assert_problem(deploy(modeler, many), 422)["code"] == "too_many_files"
    big = {"gross.bpmn": VALID_BPMN + b" " * (5 * 1024 * 1024)}
    assert assert_problem(deploy(modeler, big), 422)["code"] == "file_too_large"
    body = b"x" * (61 * 1024 * 1024)
    r = client.post("/api/process-definitions", data=body, headers=modeler.headers,
                    content_type="multipart/form-data; boundary=xyz")
    assert assert_problem(r, 413)["code"] == "payload_too_large"
    r = client.post("/api/process-instances", data=b'{"process_key": "' + body[:62 * 1024 * 1024] + b'"}',
                    headers=modeler.headers, content_type="application/json")
    assert assert_problem(r, 413)["code"] == "payload_too_large"
    assert changed(before, _fp(platform)) == {}


def test_document_upload_names_never_leave_the_document_store(as_user, platform):
    kommune = as_user("kommune")
    iid = kommune.post("/api/process-instances", json={"process_key": "demo_antrag"}).get_json()["id"]
    root = Path(platform.settings.DOCUMENTS_DIR).resolve()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for name in ["../../../../tmp/r4-evil.pdf", "..\\..\\r4-evil.pdf", "/etc/r4-evil.pdf", "a/../../b.pdf"]:
        r = kommune.post(f"/api/process-instances/{iid}/documents", data={"file": (BytesIO(pdf), name)},
                         content_type="multipart/form-data")
        if r.status_code >= 400:
            assert_problem(r)
            continue
        stored = r.get_json()["filename"]
        assert "/" not in stored and "\\" not in stored and not stored.startswith("."), stored
    assert not Path("/tmp/r4-evil.pdf").exists() and not Path("/etc/r4-evil.pdf").exists()
    for path in root.rglob("*"):
        assert path.resolve().is_relative_to(root)


# ---------------------------------------------------------------- JSON bombs

def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [40, 900, 5_000, 100_000])
@pytest.mark.parametrize("where", ["start", "complete", "message"])
def test_deeply_nested_json_is_refused(depth, where, client, as_user, platform):
    kommune = as_user("kommune")
    url, user = "/api/process-instances", kommune
    body = '{"process_key": "demo_antrag", "data": {"x": ' + _nested(depth) + "}}"
    if where == "complete":
        iid = kommune.post(url, json={"process_key": "demo_antrag"}).get_json()["id"]
        [task] = open_tasks(kommune, iid)
        url = f"/api/tasks/{task['id']}/complete"
        body = '{"data": {"vorhaben": ' + _nested(depth) + "}}"
    elif where == "message":
        url, user = "/api/messages/demo_empfangsbestaetigung", as_user("sb1")
        body = '{"correlation": {}, "payload": {"x": ' + _nested(depth) + "}}"
    before = _fp(platform)
    r = client.post(url, data=body, content_type="application/json", headers=user.headers)
    problem = assert_problem(r, (400, 422))
    assert problem["code"] in ("invalid_json", "validation_failed"), problem
    assert changed(before, _fp(platform)) == {}


def test_wide_start_data_is_refused(as_user, platform):
    kommune = as_user("kommune")
    before = _fp(platform)
    r = kommune.post("/api/process-instances", json={
        "process_key": "demo_antrag", "data": {f"k{i}": "x" * 20 for i in range(20_000)}})
    assert assert_problem(r, 422)["code"] == "payload_too_large"
    assert changed(before, _fp(platform)) == {}


# ---------------------------------------------------------------- injection strings in text fields

def _refused_or(r, *ok: int) -> bool:  # noqa: ANN001
    """True when refused cleanly (asserted), False when it got one of the `ok` statuses."""
    if r.status_code in ok:
        return False
    assert_problem(r)
    return True


IDENTIFIER_FIELDS = ["token.username", "start.process_key", "message.name", "message.correlation",
                     "instance.filter_municipality"]


@pytest.mark.parametrize("field", IDENTIFIER_FIELDS)
def test_injection_in_identifier_fields_is_refused(field, client, as_user, platform):
    kommune, sb = as_user("kommune"), as_user("sb1")
    before = _fp(platform)
    # logins verify a (dummy) argon2 hash each: the SQL strings, NUL and the long one suffice there
    values = INJECTIONS[:10] + INJECTIONS[-3:] if field == "token.username" else INJECTIONS
    for value in values:
        if field == "token.username":
            r = client.post("/api/auth/token", json={"username": value, "password": value})
        elif field == "start.process_key":
            r = kommune.post("/api/process-instances", json={"process_key": value})
        elif field == "message.name":
            r = sb.post(f"/api/messages/{urllib.parse.quote(value, safe='')}", json={"correlation": {}})
        elif field == "message.correlation":
            r = sb.post("/api/messages/demo_empfangsbestaetigung",
                        json={"correlation": {"business_key": value}})
        else:
            r = sb.get("/api/process-instances", query_string={"municipality": value})
            if r.status_code == 200:
                assert r.get_json()["items"] == [], value
                continue
        assert_problem(r)
    assert changed(before, _fp(platform)) == {}


def test_injection_in_list_filters_finds_nothing(as_user, platform):
    kommune, sb = as_user("kommune"), as_user("sb1")
    kommune.post("/api/process-instances", json={"process_key": "demo_antrag"})
    before = _fp(platform)
    for value in INJECTIONS:
        for url, param in [("/api/tasks", "process_key"), ("/api/process-instances", "process_key")]:
            r = sb.get(url, query_string={param: value})
            if not _refused_or(r, 200):
                assert r.get_json()["items"] == [] and r.get_json()["total"] == 0, (url, value)
    assert changed(before, _fp(platform)) == {}


RUNTIME = {"process_instance", "engine_task", "human_task", "audit_entry", "message_subscription",
           "service_job"}


def test_injection_in_free_text_is_stored_verbatim_and_changes_nothing_else(as_user, platform):
    kommune, sb = as_user("kommune"), as_user("sb1")
    before = _fp(platform)
    for value in INJECTIONS:
        r = kommune.post("/api/process-instances", json={
            "process_key": "demo_antrag", "business_key": value, "data": {"notiz": value}})
        if _refused_or(r, 201):
            continue  # e.g. NUL on PostgreSQL, longer than the column
        started = r.get_json()
        assert started["business_key"] == value and started["data"]["notiz"] == value
        [task] = open_tasks(kommune, started["id"])
        r = kommune.post(f"/api/tasks/{task['id']}/complete", json={"data": {
            "vorhaben": value, "beschreibung": value, "betrag": 1000, "thema": "umwelt"}})
        if not _refused_or(r, 200):
            detail = sb.get(f"/api/process-instances/{started['id']}").get_json()
            assert detail["data"]["vorhaben"] == value and detail["data"]["beschreibung"] == value
            assert detail["business_key"] == value
    assert set(changed(before, _fp(platform))) <= RUNTIME
