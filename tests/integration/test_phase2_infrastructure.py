"""Shared infrastructure of issue 4: documents, PDF letters, e-mail, budget ledger, operators."""

# ruff: noqa: F811 - pytest fixtures imported from the support modules

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from app.models import BudgetBooking, Document
from app.services import documents, ledger, mail, pdf
from app.services.operators import OperatorContext
from tests.integration.helpers import BPMN_HEAD, deploy, open_tasks, pdf_text, run_jobs, with_start_form
from tests.integration.mail_support import smtp_server  # noqa: F401 - fixture

PDF_BYTES = pdf.render_pdf("mitteilung.html", {"betreff": "Projektskizze", "absaetze": ["Test"]})


def _instance(login, ags: str) -> int:  # noqa: ANN001
    r = login(f"kommune-{ags}").post("/api/process-instances",
                                     json={"process_key": "demo_antrag"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _upload(user, iid: int, name: str, content: bytes):  # noqa: ANN001, ANN202
    return user.post(f"/api/process-instances/{iid}/documents",
                     data={"file": (io.BytesIO(content), name)},
                     content_type="multipart/form-data")


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.'
                   'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_upload_list_download_only_for_users_who_may_see_the_case(login, demo_ags, platform):
    own, other = demo_ags
    kommune = login(f"kommune-{own}")
    iid = _instance(login, own)
    r = _upload(kommune, iid, "../../etc/Projektskizze.pdf", PDF_BYTES)
    assert r.status_code == 201, r.get_json()
    doc = r.get_json()
    assert doc["filename"] == "Projektskizze.pdf" and doc["mime"] == "application/pdf"
    stored = Path(platform.settings.DOCUMENTS_DIR) / doc["sha256"][:2] / doc["sha256"]
    assert stored.read_bytes() == PDF_BYTES  # outside the database, by content hash
    assert [d["id"] for d in kommune.get(f"/api/process-instances/{iid}/documents").get_json()] \
        == [doc["id"]]
    r = kommune.get(f"/api/documents/{doc['id']}")
    assert r.status_code == 200 and r.data == PDF_BYTES
    assert "Projektskizze.pdf" in r.headers["Content-Disposition"]
    assert login("sb1").get(f"/api/documents/{doc['id']}").status_code == 200
    foreign = login(f"kommune-{other}")
    assert foreign.get(f"/api/documents/{doc['id']}").status_code == 404
    assert foreign.get(f"/api/process-instances/{iid}/documents").status_code == 404
    assert _upload(foreign, iid, "x.pdf", PDF_BYTES).status_code == 404
    assert _upload(kommune, iid, "Plan.docx", _docx()).get_json()["mime"].endswith(".document")


def test_upload_type_and_size_are_checked_by_content(login, demo_ags, platform, monkeypatch):
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = _instance(login, demo_ags[0])
    r = _upload(kommune, iid, "skizze.pdf", b"MZ\x90\x00 this is an executable")
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "file_type_not_allowed" and "kein zulässiges Format" in body["message"]
    assert body["errors"][0]["path"] == "/file"
    r = _upload(kommune, iid, "bild.png", PDF_BYTES)
    assert r.status_code == 422 and r.get_json()["code"] == "file_extension_mismatch"
    assert _upload(kommune, iid, "leer.pdf", b"").get_json()["code"] == "file_empty"
    monkeypatch.setattr(platform.settings, "MAX_UPLOAD_BYTES", 1000)
    r = _upload(kommune, iid, "gross.pdf", b"%PDF-1.7\n" + b"0" * 2000)
    assert r.status_code == 422 and r.get_json()["code"] == "file_too_large"
    assert "zu groß" in r.get_json()["message"]
    assert documents.detect_mime(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert documents.detect_mime(b"PK\x03\x04 broken zip") is None
    assert documents.safe_filename("..\\..\\a\x00b.pdf") == "ab.pdf"
    assert documents.safe_filename("...") == "dokument"


def test_pdf_letter_carries_sender_file_number_and_legal_remedy():
    content = pdf.render_pdf("mitteilung.html", {
        "aktenzeichen": "HMinD-DK-2026-0007", "betreff": "Eingangsbestätigung",
        "mit_rechtsbehelfsbelehrung": True, "absaetze": ["Ihr Antrag ist eingegangen."]})
    text = pdf_text(content)
    assert "Hessisches Ministerium für Digitalisierung und Innovation" in text
    assert "HMinD-DK-2026-0007" in text and "Eingangsbestätigung" in text
    assert "Rechtsbehelfsbelehrung" in text and "Verwaltungsgericht Wiesbaden" in text


def test_mail_goes_to_smtp_server_with_attachment(platform, smtp_server):
    result = mail.send_mail(platform, ["lead@kommune.example"], "Ihr Bescheid", "Guten Tag",
                            [("Bescheid.pdf", PDF_BYTES, "application/pdf")])
    assert result["transport"] == "smtp"
    [msg] = smtp_server.messages
    assert msg["Subject"] == "Ihr Bescheid" and msg["To"] == "lead@kommune.example"
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "Bescheid.pdf" and att.get_content() == PDF_BYTES


def test_mail_without_smtp_host_is_written_as_eml(platform, monkeypatch):
    monkeypatch.setattr(platform.settings, "SMTP_HOST", "")
    result = mail.send_mail(platform, ["a@b.example"], "Betreff", "Text")
    path = mail.mail_dir(platform) / result["file"]
    assert b"Subject: Betreff" in path.read_bytes()


def test_budget_positions_api(login):
    sb, kommune = login("sb1"), login("kommune-06490001")
    body = {"haushaltsjahr": 2031, "titel": "0702-88301", "ansatz_cents": 500_000_000}
    r = sb.post("/api/budget-positions", json=body)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["verfuegbar_cents"] == 500_000_000
    assert sb.post("/api/budget-positions", json=body).status_code == 409
    assert kommune.post("/api/budget-positions", json=body).status_code == 403
    assert kommune.get("/api/budget-positions").status_code == 403
    r = sb.post("/api/budget-positions", json={**body, "ansatz_cents": 1.5})
    assert r.status_code == 422
    [pos] = sb.get("/api/budget-positions", query_string={"haushaltsjahr": 2031}).get_json()
    assert pos["titel"] == "0702-88301"
    assert sb.get(f"/api/budget-positions/{pos['id']}").get_json()["buchungen"] == []


def _operator_process() -> bytes:
    return (BPMN_HEAD.format(pid="op_test") + """
  <bpmn:error id="ErrBudget" name="Budget" errorCode="BUDGET_NICHT_VERFUEGBAR" />
  <bpmn:process id="op_test" name="Operatoren" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="sachbearbeitung">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>klaeren</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="pdf" name="PDF"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="render_document" resultVariable="dok">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="template" type="str" value="'mitteilung.html'" />
          <spiffworkflow:parameter id="kind" type="str" value="'bescheid'" />
          <spiffworkflow:parameter id="filename" type="str" value="f'Mitteilung-{instance_id}.pdf'" />
          <spiffworkflow:parameter id="data" type="dict" value="{'betreff': 'Test', 'aktenzeichen': f'AZ-{instance_id}'}" />
        </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:serviceTask id="mail" name="Mail"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="send_email" resultVariable="mail">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="to" type="list" value="['lead@kommune.example']" />
          <spiffworkflow:parameter id="subject" type="str" value="'Ihr Bescheid'" />
          <spiffworkflow:parameter id="body" type="str" value="'Anbei der Bescheid.'" />
          <spiffworkflow:parameter id="document_ids" type="list" value="[dok['document_id']]" />
        </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:serviceTask id="binden" name="Binden"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="reserve_budget" resultVariable="bindung">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="reference" type="str" value="f'AZ-{instance_id}'" />
          <spiffworkflow:parameter id="amounts" type="dict" value="betraege" />
        </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:boundaryEvent id="kein_geld" attachedToRef="binden"><bpmn:outgoing>f_err</bpmn:outgoing>
      <bpmn:errorEventDefinition errorRef="ErrBudget" /></bpmn:boundaryEvent>
    <bpmn:userTask id="klaeren" name="Haushalt klären">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="demo/eskalation.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_err</bpmn:incoming><bpmn:outgoing>f_err2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>f_err2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="pdf" />
    <bpmn:sequenceFlow id="f2" sourceRef="pdf" targetRef="mail" />
    <bpmn:sequenceFlow id="f3" sourceRef="mail" targetRef="binden" />
    <bpmn:sequenceFlow id="f4" sourceRef="binden" targetRef="e" />
    <bpmn:sequenceFlow id="f_err" sourceRef="kein_geld" targetRef="klaeren" />
    <bpmn:sequenceFlow id="f_err2" sourceRef="klaeren" targetRef="e2" />
  </bpmn:process>
</bpmn:definitions>""").encode()


def test_operators_render_mail_and_bind_or_route_to_a_task(login, platform, smtp_server):
    sb = login("sb1")
    assert deploy(login("modeler1"), with_start_form(
        _operator_process(), "op_test", {"betraege": {"type": "object"}})).status_code == 201
    sb.post("/api/budget-positions", json={"haushaltsjahr": 2030, "titel": "0702-88301",
                                           "ansatz_cents": 100_000})
    ok = sb.post("/api/process-instances", json={"process_key": "op_test", "data": {
        "betraege": {"2030": 60_000}}}).get_json()["id"]
    assert run_jobs(platform) == ["render_document", "send_email", "reserve_budget"]
    detail = sb.get(f"/api/process-instances/{ok}").get_json()
    assert detail["status"] == "completed"
    assert detail["data"]["bindung"]["gebunden"] == {"2030": 60_000}
    [msg] = smtp_server.messages
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == f"Mitteilung-{ok}.pdf"
    # the second binding does not fit: a BPMN error routes to a clerk's task, no incident
    short = sb.post("/api/process-instances", json={"process_key": "op_test", "data": {
        "betraege": {"2030": 60_000}}}).get_json()["id"]
    run_jobs(platform)
    detail = sb.get(f"/api/process-instances/{short}").get_json()
    assert detail["status"] == "running"
    assert [t["name"] for t in open_tasks(sb, short)] == ["klaeren"]
    assert "40.000,00 €" in detail["data"]["haushalt_meldung"] or detail["data"]["haushalt_fehler"]
    [pos] = sb.get("/api/budget-positions", query_string={"haushaltsjahr": 2030}).get_json()
    assert pos["gebunden_cents"] == 60_000 and pos["verfuegbar_cents"] == 40_000


def test_operator_effects_happen_exactly_once_per_job(platform, login):
    from workers.operators.common import book_payment, render_document, reserve_budget

    login("sb1").post("/api/budget-positions", json={
        "haushaltsjahr": 2032, "titel": "0702-88301", "ansatz_cents": 1_000_000})
    iid = _instance(login, "06490001")
    ctx = OperatorContext(iid, "task-1", 1, f"{iid}:task-1:1", platform)
    params = {"template": "mitteilung.html", "kind": "bescheid", "filename": "a.pdf",
              "data": {"betreff": "x"}}
    first, again = render_document(params, ctx), render_document(params, ctx)
    assert first == again
    bind = {"reference": "AZ-X", "amounts": {"2032": 500_000}}
    ctx2 = OperatorContext(iid, "task-2", 1, f"{iid}:task-2:1", platform)
    assert reserve_budget(bind, ctx2) == reserve_budget(bind, ctx2)
    ctx3 = OperatorContext(iid, "task-3", 1, f"{iid}:task-3:1", platform)
    pay = {"reference": "AZ-X", "jahr": 2032, "amount_cents": 200_000}
    book_payment(pay, ctx3)
    book_payment(pay, ctx3)
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Document).where(
            Document.instance_id == iid)) == 1
        assert s.scalar(select(func.count()).select_from(BudgetBooking)) == 2
        assert ledger.grant_totals(s, "AZ-X") == {
            2032: {"gebunden_cents": 300_000, "ausgezahlt_cents": 200_000}}


def test_upload_without_file_is_a_field_error(login, demo_ags):
    kommune = login(f"kommune-{demo_ags[0]}")
    iid = _instance(login, demo_ags[0])
    r = kommune.post(f"/api/process-instances/{iid}/documents", data={},
                     content_type="multipart/form-data")
    assert r.status_code == 422
    assert r.get_json()["errors"] == [{"path": "/file", "message": "Pflichtfeld fehlt."}]
