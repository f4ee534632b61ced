"""Acceptance (Celery issue): service tasks on real worker processes, SIGKILL, retries and
incidents, timers after downtime, lost publishes. The SQLite run uses the embedded broker, the
PostgreSQL run Redis."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from sqlalchemy import select

from app.models import AuditEntry, OperatorEffect, ServiceJob
from tests.conftest import ROOT
from tests.integration.helpers import BPMN_HEAD, deploy, open_tasks
from tests.integration.worker_support import count_rows, instance_status, wait_for


def service_process(pid: str, operator: str, boundary_error: bool = False) -> bytes:
    boundary = ""
    if boundary_error:
        boundary = """
    <bpmn:boundaryEvent id="fehler" attachedToRef="svc"><bpmn:outgoing>f_err</bpmn:outgoing>
      <bpmn:errorEventDefinition errorRef="Err" /></bpmn:boundaryEvent>
    <bpmn:userTask id="klaeren" name="Ablehnung klären">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_err</bpmn:incoming><bpmn:outgoing>f_err2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e2"><bpmn:incoming>f_err2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_err" sourceRef="fehler" targetRef="klaeren" />
    <bpmn:sequenceFlow id="f_err2" sourceRef="klaeren" targetRef="e2" />"""
    lane_extra = "<bpmn:flowNodeRef>klaeren</bpmn:flowNodeRef>" if boundary_error else ""
    error_def = '<bpmn:error id="Err" name="Abgelehnt" errorCode="ABGELEHNT" />' if boundary_error else ""
    return (BPMN_HEAD.format(pid=pid) + f"""
  {error_def}
  <bpmn:process id="{pid}" name="Service {pid}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef>{lane_extra}
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="svc" name="Fachverfahren aufrufen">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="ergebnis">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="nummer" type="int" value="instance_id" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>{boundary}
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="svc" />
    <bpmn:sequenceFlow id="f2" sourceRef="svc" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>""").encode()




def _start(login, key: str) -> int:  # noqa: ANN001
    r = login("sb1").post("/api/process-instances", json={"process_key": key})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_service_task_completes_through_a_real_worker_process(login, platform, celery_processes):
    assert deploy(login("modeler1"), {"svc_ok.bpmn": service_process(
        "svc_ok", "demo_bescheid")}).status_code == 201
    celery_processes("worker")
    iid = _start(login, "svc_ok")
    wait_for(lambda: instance_status(platform, iid) == "completed", 60, message="instance completed")
    detail = login("sb1").get(f"/api/process-instances/{iid}").get_json()
    assert detail["data"]["ergebnis"]["aktenzeichen"] == f"DEMO-{iid:06d}"


def test_sigkill_during_operator_then_restart_completes_each_instance_exactly_once(
        login, platform, celery_processes, flag_dir):
    assert deploy(login("modeler1"), {"svc_block.bpmn": service_process(
        "svc_block", "test_record_and_block")}).status_code == 201
    (flag_dir / "block").touch()
    ids = [_start(login, "svc_block") for _ in range(10)]
    worker = celery_processes("worker")
    wait_for(lambda: list(flag_dir.glob("started-*")), 60, message="an operator is running")
    worker.kill()
    (flag_dir / "block").unlink()
    celery_processes("worker")
    celery_processes("beat")
    wait_for(lambda: all(instance_status(platform, i) == "completed" for i in ids), 120,
             message="all instances completed after restart")
    for iid in ids:
        assert count_rows(platform, OperatorEffect, OperatorEffect.instance_id == iid) == 1
        assert count_rows(platform, AuditEntry, AuditEntry.instance_id == iid,
                      AuditEntry.action == "service.completed") == 1
        detail = login("sb1").get(f"/api/process-instances/{iid}").get_json()
        assert detail["data"]["ergebnis"] == {"instance_id": iid, "nummer": iid}


def test_failing_operator_retries_with_backoff_then_incident_then_api_retry(
        login, platform, celery_processes, flag_dir):
    assert deploy(login("modeler1"), {"svc_flaky.bpmn": service_process(
        "svc_flaky", "test_flaky")}).status_code == 201
    celery_processes("worker")
    celery_processes("beat")
    iid = _start(login, "svc_flaky")
    wait_for(lambda: instance_status(platform, iid) == "incident", 60, message="incident")
    with platform.db.unit_of_work() as s:
        job = s.scalar(select(ServiceJob).where(ServiceJob.instance_id == iid))
        retries = s.scalars(select(AuditEntry).where(
            AuditEntry.instance_id == iid, AuditEntry.action == "service.retry")
            .order_by(AuditEntry.id)).all()
        assert job.attempts == 3 and job.status == "failed"
        job_id = job.id
    assert len(retries) == 2
    delays = [e.details for e in retries]
    assert [d["attempt"] for d in delays] == [1, 2]
    admin = login("admin")
    incidents = admin.get("/api/incidents").get_json()
    [incident] = [i for i in incidents if i["instance_id"] == iid]
    assert "Fachverfahren nicht erreichbar" in incident["error"]
    assert "Traceback" in incident["traceback"]
    detail = admin.get(f"/api/process-instances/{iid}").get_json()
    assert detail["status"] == "incident"
    (flag_dir / "fixed").touch()
    r = admin.post(f"/api/incidents/{job_id}/retry")
    assert r.status_code == 200, r.get_json()
    wait_for(lambda: instance_status(platform, iid) == "completed", 60, message="completed after retry")
    assert admin.get("/api/incidents").get_json() == []


def test_backoff_is_exponential(login, platform, celery_processes):
    assert deploy(login("modeler1"), {"svc_flaky.bpmn": service_process(
        "svc_flaky", "test_flaky")}).status_code in (200, 201)
    celery_processes("worker")
    celery_processes("beat")
    iid = _start(login, "svc_flaky")
    wait_for(lambda: instance_status(platform, iid) == "incident", 60, message="incident")
    with platform.db.unit_of_work() as s:
        retries = s.scalars(select(AuditEntry).where(
            AuditEntry.instance_id == iid, AuditEntry.action == "service.retry")
            .order_by(AuditEntry.id)).all()
        gaps = [(_ts(e.details["next"]) - e.at).total_seconds() for e in retries]
    assert 0.3 <= gaps[0] <= 0.6 and 0.7 <= gaps[1] <= 1.0, gaps


def _ts(value: str):  # noqa: ANN202
    from datetime import datetime

    return datetime.fromisoformat(value)


def test_declared_bpmn_error_is_caught_by_boundary_event_not_an_incident(
        login, platform, celery_processes):
    assert deploy(login("modeler1"), {"svc_err.bpmn": service_process(
        "svc_err", "test_declared_error", boundary_error=True)}).status_code == 201
    celery_processes("worker")
    iid = _start(login, "svc_err")
    sb = login("sb1")
    tasks = wait_for(lambda: open_tasks(sb, iid), 60, message="error path task")
    assert [t["name"] for t in tasks] == ["klaeren"]
    assert instance_status(platform, iid) == "running"
    detail = sb.get(f"/api/process-instances/{iid}").get_json()
    assert detail["data"]["fehler_code"] == "ABGELEHNT"


def test_timer_due_during_downtime_fires_exactly_once_after_start(
        login, platform, celery_processes, demo_ags):
    from app.services import timers

    kommune = login(f"kommune-{demo_ags[0]}")
    iid = kommune.post("/api/process-instances", json={"process_key": "demo_antrag"}).get_json()["id"]
    [t] = open_tasks(kommune, iid)
    kommune.post(f"/api/tasks/{t['id']}/complete", json={"data": {
        "vorhaben": "Fristablauf", "betrag": 100, "thema": "umwelt"}})
    timers.time_travel(platform, iid, timedelta(days=20))  # the deadline passed while down
    celery_processes("worker")
    celery_processes("beat", name="beat-a")
    celery_processes("beat", name="beat-b")  # two overlapping schedulers
    sb = login("sb1")
    wait_for(lambda: [x for x in open_tasks(sb, iid) if x["name"] == "eskalation"], 60,
             message="escalation task")
    import time

    time.sleep(3)
    assert [x["name"] for x in open_tasks(sb, iid)] == ["eskalation"]
    assert count_rows(platform, AuditEntry, AuditEntry.instance_id == iid,
                  AuditEntry.action == "timer.due") == 1


def test_lost_publish_after_commit_is_relayed_and_runs_once(
        login, platform, celery_processes, monkeypatch):
    assert deploy(login("modeler1"), {"svc_block.bpmn": service_process(
        "svc_block", "test_record_and_block")}).status_code in (200, 201)
    monkeypatch.setattr(platform, "publisher", None)  # the web process "dies" before relaying
    monkeypatch.setattr(platform.settings, "JOB_PUBLISHER", "")
    iid = _start(login, "svc_block")
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(ServiceJob.status).where(ServiceJob.instance_id == iid)) == "sent"
    celery_processes("worker")
    celery_processes("beat")
    wait_for(lambda: instance_status(platform, iid) == "completed", 60, message="relayed and completed")
    assert count_rows(platform, OperatorEffect, OperatorEffect.instance_id == iid) == 1
    assert count_rows(platform, AuditEntry, AuditEntry.instance_id == iid,
                  AuditEntry.action == "service.completed") == 1


def test_docker_compose_file_validates():
    import shutil

    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode == 0:
        cmd = ["docker", "compose", "-f", "docker-compose.yml", "config", "--quiet"]
    else:
        assert shutil.which("docker-compose"), "docker compose (v2) or docker-compose required"
        cmd = ["docker-compose", "-f", "docker-compose.yml", "config", "--quiet"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "SECRET_KEY": "x"})
    assert result.returncode == 0, result.stderr
