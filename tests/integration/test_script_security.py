"""Acceptance: scripts trying to escape are blocked; the instance shows an error state with a
readable reason; the server keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import deploy, open_tasks, script_process

MARKER = Path("/tmp/foerderportal-escape-marker")
PAYLOADS = {
    "os_system": "import os\nos.system('touch /tmp/foerderportal-escape-marker')",
    "open": "x = open('/etc/passwd').read()",
    "dunder_import": "x = __import__('os').system('touch /tmp/foerderportal-escape-marker')",
    "subclasses": "x = ().__class__.__base__.__subclasses__()",
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_escaping_script_is_blocked_and_instance_errors(login, name):
    MARKER.unlink(missing_ok=True)
    key = f"escape_{name}"
    r = deploy(login("modeler1"), {f"{key}.bpmn": script_process(key, PAYLOADS[name])})
    assert r.status_code == 201, r.get_json()
    sb = login("sb1")
    r = sb.post("/api/process-instances", json={"process_key": key})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "error"
    assert body["error_message"], body
    assert "Traceback" not in body["error_message"]
    assert not MARKER.exists()
    detail = sb.get(f"/api/process-instances/{body['id']}").get_json()
    assert detail["status"] == "error" and detail["error_message"] == body["error_message"]
    assert open_tasks(sb, body["id"]) == []
    # the server still serves
    assert sb.get("/api/process-instances").status_code == 200
    listed = sb.get("/api/process-instances", query_string={"status": "error"}).get_json()
    assert body["id"] in [i["id"] for i in listed["items"]]


def test_a_harmless_script_runs(login):
    key = "harmless_script"
    deploy(login("modeler1"), {f"{key}.bpmn": script_process(
        key, "werte = [1, 2, 3]\nsumme = sum(w * 2 for w in werte)")})
    sb = login("sb1")
    body = sb.post("/api/process-instances", json={"process_key": key}).get_json()
    assert body["status"] == "running"
    assert body["data"]["summe"] == 12
