"""Small helpers for integration tests: BPMN builders and API walkthroughs."""

from __future__ import annotations

BPMN_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="Defs_{pid}" targetNamespace="http://foerderportal.test">"""


def script_process(pid: str, script: str, lane: str = "sachbearbeitung") -> bytes:
    """start (lane) → script task → user task → end."""
    from xml.sax.saxutils import escape

    return (BPMN_HEAD.format(pid=pid) + f"""
  <bpmn:process id="{pid}" name="Test {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="{lane}">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>script</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>ut</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script" name="Skript"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="ut" name="Prüfen">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="script" />
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="ut" />
    <bpmn:sequenceFlow id="f3" sourceRef="ut" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def with_start_form(bpmn: bytes, form: str, properties: dict) -> dict[str, bytes]:
    """The process's start event declares the start form `form` (a JSON Schema with
    `properties`): the files to deploy, {<form>.schema.json, <form>.bpmn}."""
    import json
    import re

    name = f"{form}.schema.json"
    declaration = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
                   f'name="formJsonSchemaFilename" value="{name}" /></spiffworkflow:properties>'
                   '</bpmn:extensionElements>')
    text, n = re.subn(r"(<bpmn:startEvent\b[^>]*[^/]>)", lambda m: m.group(1) + declaration,
                      bpmn.decode(), count=1)
    assert n == 1, "no start event"
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    return {f"{form}.bpmn": text.encode(), name: json.dumps(schema).encode()}


def deploy(user, files: dict[str, bytes]):  # noqa: ANN001, ANN201
    from io import BytesIO

    data = {"files": [(BytesIO(content), name) for name, content in files.items()]}
    return user.post("/api/process-definitions", data=data, content_type="multipart/form-data")


def open_tasks(user, instance_id: int) -> list[dict]:  # noqa: ANN001
    r = user.get("/api/tasks", query_string={"scope": "groups", "per_page": 200})
    assert r.status_code == 200, r.get_json()
    return [t for t in r.get_json()["items"] if t["instance_id"] == instance_id]


def run_jobs(platform, max_rounds: int = 20) -> list[str]:  # noqa: ANN001
    """Run every open service job in-process (as a worker would), until none is left.

    Jobs created by completing a job run in the next round. Returns the operators run."""
    from app.services import jobs

    ran: list[str] = []
    for _ in range(max_rounds):
        pending = jobs.open_jobs(platform)
        if not pending:
            return ran
        for job in pending:
            jobs.execute(platform, job.id)
            ran.append(job.operator)
    raise AssertionError(f"service jobs did not settle after {max_rounds} rounds: {ran}")


def pdf_text(content: bytes) -> str:
    """The text of a PDF with whitespace (line breaks) folded to single spaces."""
    import io

    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())
