"""Marshmallow schemas of the shared document/budget API and the Phase 2 read APIs."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from app.domain.ressorts import THEMENBEREICHE

from . import REQUIRED, Strict


class DocumentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer(allow_none=True)
    kind = fields.String()
    filename = fields.String()
    mime = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()
    download_url = fields.String()


class DocumentUploadFile(Schema):
    file = Upload(required=True, error_messages=REQUIRED,
                  metadata={"description": "PDF, PNG, JPEG oder Office-Datei (DOCX, XLSX, PPTX, "
                                           "ODT, ODS), höchstens MAX_UPLOAD_BYTES groß"})


class DocumentUploadArgs(Schema):
    kind = fields.String(load_default="upload", validate=validate.Regexp(
        r"^[a-z][a-z0-9_-]{1,39}$", error="Ungültige Dokumentart."))


class BudgetPositionCreate(Strict):
    haushaltsjahr = fields.Integer(required=True, validate=validate.Range(2000, 2999),
                                   error_messages=REQUIRED)
    titel = fields.String(required=True, validate=validate.Length(1, 40), error_messages=REQUIRED)
    bezeichnung = fields.String(load_default="", validate=validate.Length(max=300))
    ansatz_cents = fields.Integer(required=True, strict=True,
                                  validate=validate.Range(0, 10**15), error_messages=REQUIRED)


class BudgetAnsatzUpdate(Strict):
    ansatz_cents = fields.Integer(required=True, strict=True,
                                  validate=validate.Range(0, 10**15), error_messages=REQUIRED)
    vermerk = fields.String(required=True, validate=validate.Length(5, 1000),
                            error_messages=REQUIRED)


class BudgetPositionSchema(Schema):
    id = fields.Integer()
    haushaltsjahr = fields.Integer()
    titel = fields.String()
    bezeichnung = fields.String()
    ansatz_cents = fields.Integer()
    gebunden_cents = fields.Integer()
    ausgezahlt_cents = fields.Integer()
    verfuegbar_cents = fields.Integer()
    buchungen = fields.List(fields.Dict())


class BudgetListArgs(Schema):
    haushaltsjahr = fields.Integer(validate=validate.Range(2000, 2999))
    titel = fields.String(validate=validate.Length(max=40))


class BlaupauseSchema(Schema):
    id = fields.Integer()
    aktenzeichen = fields.String()
    titel = fields.String()
    cluster_name = fields.String()
    lead_ags = fields.String()
    mitglieder = fields.List(fields.Raw())
    themenbereiche = fields.List(fields.String())
    massnahmen = fields.String()
    ergebnisse = fields.String()
    nachnutzung = fields.String()
    kontakt = fields.String()
    published_at = fields.DateTime()


class BlaupauseListArgs(Schema):
    thema = fields.String(validate=validate.OneOf(list(THEMENBEREICHE)))
    q = fields.String(validate=validate.Length(max=200))


class DigiCheckResultSchema(Schema):
    id = fields.Integer()
    municipality_ags = fields.String()
    instance_id = fields.Integer(allow_none=True)
    completed_at = fields.DateTime()
    gesamt = fields.Integer()
    scores = fields.Dict()
    recommendations = fields.List(fields.String())
    document_id = fields.Integer(allow_none=True)


class AufrufSchema(Schema):
    id = fields.Integer()
    kennung = fields.String()
    titel = fields.String()
    frist = fields.DateTime()
    foerdersumme_cents = fields.Integer()
    laufzeit_monate = fields.Integer()
    schwellenwert = fields.Integer()
    status = fields.String()
    offen = fields.Boolean()


class AufrufAntragSchema(Schema):
    antrag_id = fields.Integer(metadata={"description": "Vorgang (Prozessinstanz) des Antrags."})
    cluster_name = fields.String()
    lead_ags = fields.String()
    landesteil = fields.String()
    groessenklasse = fields.String()
    foerdersumme_cents = fields.Integer()
    eingereicht_at = fields.String(metadata={"description": "Zeitpunkt (ISO 8601)."})
    status = fields.String()
    punkte = fields.String(allow_none=True, metadata={"description": "Gewichtete Punktzahl."})
