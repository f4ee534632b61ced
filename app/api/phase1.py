"""Phase 1 API: master-data imports, programme-year parameters, simulator, release."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from app.schemas import page_of
from app.services import allocation, allocation_export, masterdata
from app.services.errors import Invalid

from . import current_actor, platform

blp = Blueprint("phase1", __name__, url_prefix="/api/phase1",
                description="Phase 1: Stammdaten, Zuweisung an alle Kommunen, Freigabe")

MAX_UPLOAD = masterdata.MAX_FILE_BYTES


# --------------------------------------------------------------------------- schemas


def _dec(low: str, high: str) -> fields.Decimal:
    # metadata: OpenAPI needs numeric bounds (the Decimal range would be documented as strings)
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=validate.Range(Decimal(low), Decimal(high)),
                          metadata={"minimum": float(low), "maximum": float(high)})


class YearValues(Schema):
    class Meta:
        unknown = RAISE

    budget_cents = fields.Integer(validate=validate.Range(0, 10**13), strict=True)
    sockel_cents = fields.Integer(validate=validate.Range(0, 10**11), strict=True)
    eigenanteil_percent = _dec("0", "99.99")
    hfag_threshold = fields.Integer(validate=validate.Range(0, 10**7), strict=True)
    hfag_klein = _dec("0.0001", "100")
    hfag_gross = _dec("0.0001", "100")
    hfag_mittelzentrum = _dec("0.0001", "100")
    hfag_sonderstatus = _dec("0.0001", "100")
    elasticity = _dec("0", "10")
    g_min = _dec("0.0001", "1000")
    g_max = _dec("0.0001", "1000")
    finanzkraft_jahr = fields.Integer(validate=validate.Range(1990, 2100), strict=True)
    laufzeit_ende = fields.Date()
    haushaltstitel = fields.String(validate=validate.Length(1, 40))
    hfag_status = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^\d{8}$")),
                              values=fields.String(allow_none=True,
                                                   validate=validate.Length(max=20)))
    include_demo = fields.Boolean()
    erinnerung_wochen = fields.Integer(validate=validate.Range(0, 26), strict=True)


class YearSchema(Schema):
    jahr = fields.Integer()
    configured = fields.Boolean()
    locked = fields.Boolean()
    budget_cents = fields.Integer()
    sockel_cents = fields.Integer()
    eigenanteil_percent = fields.String()
    hfag_threshold = fields.Integer()
    hfag_klein = fields.String()
    hfag_gross = fields.String()
    hfag_mittelzentrum = fields.String()
    hfag_sonderstatus = fields.String()
    elasticity = fields.String()
    g_min = fields.String()
    g_max = fields.String()
    finanzkraft_jahr = fields.Integer()
    laufzeit_ende = fields.Date()
    haushaltstitel = fields.String()
    hfag_status = fields.Dict()
    include_demo = fields.Boolean()
    erinnerung_wochen = fields.Integer()
    zwischennachweis_frist = fields.Date()
    verwendungsnachweis_frist = fields.Date()


class RunSchema(Schema):
    id = fields.Integer()
    jahr = fields.Integer()
    kind = fields.String()
    status = fields.String()
    parameters = fields.Dict()
    finanzkraft_jahr = fields.Integer()
    count = fields.Integer()
    sum_cents = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    start_instance_id = fields.Integer(allow_none=True)
    created = fields.Boolean()
    verteilung = fields.Dict()
    vergleich = fields.Dict()
    fortschritt = fields.Dict()
    zuweisungen = fields.List(fields.Dict())


class RunArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    zuweisungen = fields.Boolean(load_default=False)


class RunListArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    jahr = fields.Integer(validate=validate.Range(1990, 2100))
    kind = fields.String(validate=validate.OneOf(["simulation", "release"]))


class ExportArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))


class NoteBody(Schema):
    class Meta:
        unknown = RAISE

    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class RejectBody(Schema):
    class Meta:
        unknown = RAISE

    note = fields.String(required=True, validate=validate.Length(3, 2000),
                         error_messages={"required": "Pflichtfeld fehlt."})


class MunicipalityArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    active = fields.Boolean()
    landesteil = fields.String(validate=validate.OneOf(["Süd", "Mittel", "Nord"]))
    q = fields.String(validate=validate.Length(max=100))
    include_demo = fields.Boolean(load_default=True)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class MunicipalitySchema(Schema):
    ags = fields.String()
    name = fields.String()
    kreis = fields.String()
    regierungsbezirk = fields.String()
    landesteil = fields.String()
    einwohner = fields.Integer()
    flaeche_km2 = fields.String(allow_none=True)
    gemeinde_typ = fields.String(allow_none=True)
    hfag_status = fields.String(allow_none=True)
    gebietsstand = fields.Date(allow_none=True)
    active = fields.Boolean()
    demo = fields.Boolean()
    history = fields.List(fields.Dict())
    finanzkraft = fields.List(fields.Dict())


MunicipalityPage = page_of(MunicipalitySchema, "MunicipalityPage")


class CaseArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(1, 100000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class CaseSchema(Schema):
    ags = fields.String()
    gemeinde = fields.String()
    landesteil = fields.String()
    aktenzeichen = fields.String()
    status = fields.String()
    instance_id = fields.Integer(allow_none=True)
    instance_status = fields.String(allow_none=True)
    zuweisung_cents = fields.Integer()
    started_at = fields.DateTime(allow_none=True)


CasePage = page_of(CaseSchema, "CasePage")


class HfagBody(Schema):
    class Meta:
        unknown = RAISE

    hfag_status = fields.String(required=True, allow_none=True, validate=validate.Length(max=20),
                                error_messages={"required": "Pflichtfeld fehlt."})


class ImportResult(Schema):
    class Meta:
        unknown = EXCLUDE

    import_id = fields.Integer()
    gebietsstand = fields.String(allow_none=True)
    format = fields.String()
    gemeinden_in_datei = fields.Integer()
    angelegt = fields.Integer()
    geaendert = fields.Integer()
    aenderungen = fields.Integer()
    reaktiviert = fields.Integer()
    deaktiviert = fields.Integer()
    unveraendert = fields.Integer()
    ausgelassen = fields.List(fields.Dict())
    geaenderte_ags = fields.List(fields.String())
    deaktivierte_ags = fields.List(fields.String())
    reaktivierte_ags = fields.List(fields.String())
    jahre = fields.List(fields.Integer())
    werte = fields.Integer()
    fehlende_gemeinden = fields.Dict()


UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "gebietsstand": {"type": "string", "format": "date",
                         "description": "nur Gemeindeverzeichnis: Gebietsstand, falls nicht in "
                                        "der Datei"}}}}}}}


# --------------------------------------------------------------------------- helpers


def _upload() -> tuple[bytes, str]:
    f = request.files.get("file")
    if f is None:
        raise Invalid("Bitte eine Datei im Feld „file“ hochladen (multipart/form-data).",
                      code="file_missing",
                      errors=[{"path": "/file", "message": "Datei fehlt."}])
    data = f.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Invalid("Die Datei ist zu groß (höchstens 20 MB).", code="file_too_large",
                      errors=[{"path": "/file", "message": "Datei zu groß."}])
    return data, (f.filename or "").replace("\\", "/").split("/")[-1]


def _gebietsstand() -> date | None:
    raw = (request.form.get("gebietsstand") or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("Der Gebietsstand ist kein gültiges Datum (JJJJ-MM-TT).",
                      errors=[{"path": "/gebietsstand",
                               "message": "Datum im Format JJJJ-MM-TT angeben."}]) from None


# --------------------------------------------------------------------------- master data


@blp.route("/imports/gemeindeverzeichnis", methods=["POST"])
@blp.doc(**UPLOAD_DOC)
@blp.response(201, ImportResult)
def import_directory() -> dict:
    """Gemeindeverzeichnis (Destatis AuszugGV, XLSX oder CSV) importieren — nur Administration.

    multipart/form-data: `file`, optional `gebietsstand` (JJJJ-MM-TT). Eine fehlerhafte Datei
    wird als Ganzes abgelehnt (422 mit Zeilennummern)."""
    actor = current_actor()
    masterdata.require_admin(actor)
    data, name = _upload()
    return masterdata.import_directory(platform(), actor, data, name, _gebietsstand())


@blp.route("/imports/finanzkraft", methods=["POST"])
@blp.doc(**UPLOAD_DOC)
@blp.response(201, ImportResult)
def import_finanzkraft() -> dict:
    """Finanzkraft je Einwohner importieren (CSV: ags, jahr, finanzkraft_je_einwohner)."""
    actor = current_actor()
    masterdata.require_admin(actor)
    data, name = _upload()
    return masterdata.import_finanzkraft(platform(), actor, data, name)


@blp.route("/municipalities", methods=["GET"])
@blp.arguments(MunicipalityArgs, location="query")
@blp.response(200, MunicipalityPage)
def list_municipalities(args: dict) -> dict:
    """Gemeinden (Stammdaten), gefiltert und seitenweise."""
    return masterdata.list_municipalities(platform(), current_actor(), **args)


@blp.route("/municipalities/<string:ags>", methods=["GET"])
@blp.response(200, MunicipalitySchema)
def get_municipality(ags: str) -> dict:
    """Stammdaten einer Gemeinde mit Änderungshistorie und Finanzkraft."""
    return masterdata.get_municipality(platform(), current_actor(), ags)


@blp.route("/municipalities/<string:ags>/hfag-status", methods=["PUT"])
@blp.arguments(HfagBody)
@blp.response(200, MunicipalitySchema)
def set_hfag_status(body: dict, ags: str) -> dict:
    """HFAG-Status einer Gemeinde setzen (mittelzentrum, sonderstatus oder leer)."""
    return masterdata.set_hfag_status(platform(), current_actor(), ags, body["hfag_status"])


# --------------------------------------------------------------------------- parameters


@blp.route("/years", methods=["GET"])
@blp.response(200, YearSchema(many=True))
def list_years() -> list:
    """Programmjahre mit ihren Zuweisungsparametern."""
    return allocation.list_years(platform(), current_actor())


@blp.route("/years/<int:jahr>", methods=["GET"])
@blp.response(200, YearSchema)
def get_year(jahr: int) -> dict:
    """Parameter eines Programmjahrs (Standardwerte, solange keine hinterlegt sind)."""
    return allocation.get_year(platform(), current_actor(), jahr)


@blp.route("/years/<int:jahr>", methods=["PUT"])
@blp.arguments(YearValues)
@blp.response(200, YearSchema)
def put_year(body: dict, jahr: int) -> dict:
    """Parameter eines Programmjahrs anlegen oder ändern (gesperrt, sobald eine Freigabe
    beantragt ist)."""
    return allocation.put_year(platform(), current_actor(), jahr, body)


# --------------------------------------------------------------------------- simulator


@blp.route("/years/<int:jahr>/simulations", methods=["POST"])
@blp.arguments(YearValues)
@blp.arguments(RunArgs, location="query")
@blp.response(201, RunSchema)
def simulate(body: dict, args: dict, jahr: int) -> dict:
    """Zuweisung mit geänderten Parametern berechnen, ohne etwas freizugeben: Verteilung
    (Minimum, Median, Maximum je Landesteil und Größenklasse) und Differenz zum Vorjahr."""
    items = args["zuweisungen"] if "zuweisungen" in request.args else True
    return allocation.simulate(platform(), current_actor(), jahr, body, include_items=items)


@blp.route("/runs", methods=["GET"])
@blp.arguments(RunListArgs, location="query")
@blp.response(200, RunSchema(many=True))
def list_runs(args: dict) -> list:
    """Berechnungen (Simulationen und Freigaben)."""
    return allocation.list_runs(platform(), current_actor(), args.get("jahr"), args.get("kind"))


@blp.route("/runs/<int:run_id>", methods=["GET"])
@blp.arguments(RunArgs, location="query")
@blp.response(200, RunSchema)
def get_run(args: dict, run_id: int) -> dict:
    """Eine Berechnung mit Verteilung, Vorjahresvergleich und (Freigabe) Fortschritt."""
    return allocation.get_run(platform(), current_actor(), run_id, args["zuweisungen"])


@blp.route("/runs/<int:run_id>/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.response(200, description="XLSX- oder CSV-Datei")
def export_run(args: dict, run_id: int) -> Response:
    """Eine Berechnung als XLSX oder CSV herunterladen."""
    content, mime, filename = allocation_export.export(platform(), current_actor(), run_id,
                                                      args["format"])
    return Response(content, mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


# --------------------------------------------------------------------------- release


@blp.route("/years/<int:jahr>/release-requests", methods=["POST"])
@blp.arguments(NoteBody)
@blp.response(201, RunSchema)
def request_release(body: dict, jahr: int) -> tuple:
    """Freigabe der Zuweisung beantragen (Sachbearbeitung). Eine erneute Anfrage liefert die
    offene Freigabe (200)."""
    result = allocation.request_release(platform(), current_actor(), jahr, body.get("note"))
    return result, 201 if result["created"] else 200


@blp.route("/runs/<int:run_id>/approve", methods=["POST"])
@blp.response(200, RunSchema)
def approve(run_id: int) -> dict:
    """Freigabe erteilen (zweite Person aus Sachbearbeitung oder Bewilligung): startet je Kommune
    einen Phase-1-Vorgang. Wiederholen ändert nichts."""
    return allocation.approve_release(platform(), current_actor(), run_id)


@blp.route("/runs/<int:run_id>/reject", methods=["POST"])
@blp.arguments(RejectBody)
@blp.response(200, RunSchema)
def reject(body: dict, run_id: int) -> dict:
    """Beantragte Freigabe ablehnen (die Parameter werden wieder änderbar)."""
    return allocation.reject_release(platform(), current_actor(), run_id, body["note"])


@blp.route("/years/<int:jahr>/cases", methods=["GET"])
@blp.arguments(CaseArgs, location="query")
@blp.response(200, CasePage)
def list_cases(args: dict, jahr: int) -> dict:
    """Die Phase-1-Vorgänge eines Programmjahrs (je Kommune einer) mit Status."""
    return allocation.list_cases(platform(), current_actor(), jahr, **args)
