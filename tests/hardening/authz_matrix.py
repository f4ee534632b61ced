"""R6 — the authorization matrix: the ONE table of expected outcomes.

Every route of the app (`app.url_map`, each HTTP method) has an entry here; a route without one
fails tests/hardening/test_r6_authorization.py. For every role (anonymous and the demo users)
and for an object of the caller's OWN municipality and of a FOREIGN one, the entry says what must
happen. A plain outcome applies to both; a pair (own, foreign) distinguishes them.

Outcomes:
  OK        2xx (and, for lists, the object is listed)
  HIDDEN    2xx, but the object is not in the list
  DENY      403 or 404 (refused, or its existence not revealed)
  FORBIDDEN 403
  NOT_FOUND 404
  UNAUTH    401
  PASS      let through the authorization gate: no 401/403, no 5xx — used where the request
            refers to an object that does not exist (the role check precedes the lookup)
  LOGIN     web page, not signed in: redirect to the login page (or 401)
  REFUSED   web form post, not signed in: no 2xx, no 5xx (redirect, CSRF 400, 401/403)
  ANY       signed in: anything but a 5xx (web pages, detailed rules in their own tests)

`request` names the request builder in the test module: it creates what the route needs (an
instance of the own/foreign municipality, an open task, a failed job, …) and sends a valid
request, so that a refusal comes from the permission check and not from validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK, HIDDEN, DENY, FORBIDDEN, NOT_FOUND, UNAUTH, PASS = "ok", "hidden", "deny", "403", "404", "401", "pass"
LOGIN, REFUSED, ANY = "login", "refused", "any"

ROLES = ("anonym", "kommune", "sachbearbeitung", "gutachter", "ressort", "spitzenverband",
         "bewilligung", "prozessverantwortliche", "admin")
USERS = {"kommune": "kommune", "sachbearbeitung": "sb1", "gutachter": "gutachter1",
         "ressort": "ressort-wirtschaft", "spitzenverband": "sv-staedtetag", "bewilligung": "hmind1",
         "prozessverantwortliche": "modeler1", "admin": "admin"}
STAFF = ("sachbearbeitung", "gutachter", "spitzenverband", "bewilligung", "prozessverantwortliche",
         "admin")

Outcome = str | tuple[str, str]


@dataclass(frozen=True)
class Entry:
    request: str
    expect: dict[str, Outcome] = field(default_factory=dict)


def roles(default: Outcome, anonym: Outcome = UNAUTH, **per_role: Outcome) -> dict[str, Outcome]:
    """Every role gets `default` unless named; anonymous callers get 401 unless named."""
    unknown = set(per_role) - set(ROLES)
    assert not unknown, unknown
    return {"anonym": anonym, **{r: per_role.get(r, default) for r in ROLES[1:]}}


def only(*allowed: str, yes: Outcome = OK, no: Outcome = FORBIDDEN) -> dict[str, Outcome]:
    return roles(no, **dict.fromkeys(allowed, yes))


def case_visibility(yes: str = OK, no: str = NOT_FOUND) -> dict[str, Outcome]:
    """Objects of a case: staff see every case, a municipality its own, a ministry only cases
    it was asked about (none here)."""
    return roles(yes, kommune=(yes, no), ressort=no)


PUBLIC = roles(OK, anonym=OK)
SIGNED_IN = roles(OK)
WEB_PAGE = roles(ANY, anonym=LOGIN)
WEB_FORM = roles(ANY, anonym=REFUSED)

SIMULATORS = ("sachbearbeitung", "bewilligung", "admin")  # app/services/allocation.py
BUDGET_READERS = ("sachbearbeitung", "admin", "bewilligung", "spitzenverband")  # + ressort-finanzen

MATRIX: dict[tuple[str, str], Entry] = {
    # --- authentication and documentation
    ("POST", "/api/auth/token"): Entry("token", PUBLIC),
    ("GET", "/api/openapi.json"): Entry("plain", PUBLIC),
    ("GET", "/api/docs"): Entry("plain", PUBLIC),
    # --- process definitions
    ("GET", "/api/process-definitions"): Entry("plain", SIGNED_IN),
    ("POST", "/api/process-definitions"): Entry("deploy", only("prozessverantwortliche", "admin")),
    # --- process instances (cases)
    ("POST", "/api/process-instances"): Entry("start", roles(FORBIDDEN, kommune=(OK, FORBIDDEN), admin=OK)),
    ("GET", "/api/process-instances"): Entry("instance_list", case_visibility(OK, HIDDEN)),
    ("GET", "/api/process-instances/<int:instance_id>"): Entry("instance", case_visibility()),
    ("POST", "/api/process-instances/<int:instance_id>/suspend"): Entry("instance", only("sachbearbeitung", "admin")),
    ("POST", "/api/process-instances/<int:instance_id>/resume"): Entry("suspended_instance",
                                                                       only("sachbearbeitung", "admin")),
    ("POST", "/api/process-instances/<int:instance_id>/terminate"): Entry("instance", only("sachbearbeitung", "admin")),
    ("POST", "/api/process-instances/<int:instance_id>/retry"): Entry("failed_instance",
                                                                      only("sachbearbeitung", "admin")),
    ("GET", "/api/process-instances/<int:instance_id>/documents"): Entry("instance", case_visibility()),
    ("POST", "/api/process-instances/<int:instance_id>/documents"): Entry("document_upload", case_visibility()),
    ("GET", "/api/documents/<int:document_id>"): Entry("document", case_visibility()),
    # --- tasks: the first task of the demo application belongs to the municipality's group
    ("GET", "/api/tasks"): Entry("task_list", roles(HIDDEN, kommune=(OK, HIDDEN))),
    ("GET", "/api/tasks/<uuid:task_id>"): Entry("task", roles(NOT_FOUND, kommune=(OK, NOT_FOUND))),
    ("POST", "/api/tasks/<uuid:task_id>/claim"): Entry("task", roles(NOT_FOUND, kommune=(OK, NOT_FOUND))),
    ("POST", "/api/tasks/<uuid:task_id>/unclaim"): Entry("claimed_task", roles(NOT_FOUND, kommune=(OK, NOT_FOUND))),
    ("POST", "/api/tasks/<uuid:task_id>/complete"): Entry("complete", roles(NOT_FOUND, kommune=(OK, NOT_FOUND))),
    # --- messages and incidents
    ("POST", "/api/messages/<string:name>"): Entry("message", only("sachbearbeitung", "bewilligung", "admin")),
    ("GET", "/api/incidents"): Entry("plain", only("sachbearbeitung", "admin")),
    ("POST", "/api/incidents/<int:incident_id>/retry"): Entry("incident", only("sachbearbeitung", "admin")),
    # --- users and groups
    ("GET", "/api/users"): Entry("plain", only("admin")),
    ("POST", "/api/users"): Entry("user_create", only("admin")),
    ("PATCH", "/api/users/<int:user_id>"): Entry("user_update", only("admin")),
    ("POST", "/api/users/<int:user_id>/logout"): Entry("user_update", only("admin")),
    ("GET", "/api/groups"): Entry("plain", only("admin")),
    # --- budget (Haushaltsüberwachung)
    ("GET", "/api/budget-positions"): Entry("plain", only(*BUDGET_READERS)),
    ("POST", "/api/budget-positions"): Entry("budget_create", only("sachbearbeitung", "admin")),
    ("GET", "/api/budget-positions/<int:position_id>"): Entry("budget_position", only(*BUDGET_READERS)),
    ("PATCH", "/api/budget-positions/<int:position_id>"): Entry("budget_update", only("sachbearbeitung", "admin")),
    # --- Phase 2 reading
    ("GET", "/api/blaupausen"): Entry("plain", SIGNED_IN),
    ("GET", "/api/foerderaufrufe"): Entry("plain", SIGNED_IN),
    # the applications of a call: everyone signed in, filtered to the cases they may see
    # (tests/integration/test_phase2_task_context.py); an unknown call is a 404
    ("GET", "/api/foerderaufrufe/<kennung>/antraege"): Entry("call_applications", roles(PASS)),
    ("GET", "/api/digicheck-results"): Entry("municipality_filter", roles(
        OK, kommune=(OK, FORBIDDEN), ressort=FORBIDDEN)),
    # --- Phase 1: master data, parameters, simulator, release (role checks precede lookups)
    ("POST", "/api/phase1/imports/gemeindeverzeichnis"): Entry("empty_upload", only("admin", yes=PASS)),
    ("POST", "/api/phase1/imports/finanzkraft"): Entry("empty_upload", only("admin", yes=PASS)),
    ("GET", "/api/phase1/municipalities"): Entry("plain", SIGNED_IN),
    ("GET", "/api/phase1/municipalities/<string:ags>"): Entry("municipality", SIGNED_IN),
    ("PUT", "/api/phase1/municipalities/<string:ags>/hfag-status"): Entry("hfag_status", only("admin")),
    ("GET", "/api/phase1/years"): Entry("plain", only(*SIMULATORS)),
    ("GET", "/api/phase1/years/<int:jahr>"): Entry("year", only(*SIMULATORS)),
    ("PUT", "/api/phase1/years/<int:jahr>"): Entry("year_values", only("sachbearbeitung", "admin")),
    ("POST", "/api/phase1/years/<int:jahr>/simulations"): Entry("year_values", only(*SIMULATORS, yes=PASS)),
    ("POST", "/api/phase1/years/<int:jahr>/release-requests"): Entry("year_note", only("sachbearbeitung", yes=PASS)),
    ("GET", "/api/phase1/years/<int:jahr>/cases"): Entry("year", only(*SIMULATORS)),
    ("GET", "/api/phase1/runs"): Entry("plain", only(*SIMULATORS)),
    ("GET", "/api/phase1/runs/<int:run_id>"): Entry("missing_run", only(*SIMULATORS, yes=PASS)),
    ("GET", "/api/phase1/runs/<int:run_id>/export"): Entry("missing_run", only(*SIMULATORS, yes=PASS)),
    ("POST", "/api/phase1/runs/<int:run_id>/approve"): Entry("missing_run", only("sachbearbeitung", "bewilligung",
                                                                                  yes=PASS)),
    ("POST", "/api/phase1/runs/<int:run_id>/reject"): Entry("missing_run_note", only("sachbearbeitung", "bewilligung",
                                                                                      yes=PASS)),
    # --- outside the API
    ("GET", "/healthz"): Entry("plain", PUBLIC),
    ("GET", "/static/<path:filename>"): Entry("static", PUBLIC),
    # --- web UI (issue 6): login required; the detailed rules are the web tests' subject
    ("GET", "/anmelden"): Entry("web", roles(ANY, anonym=OK)),
    ("POST", "/anmelden"): Entry("web", roles(ANY, anonym=REFUSED)),
    ("POST", "/abmelden"): Entry("web", WEB_FORM),
    ("GET", "/sprache/<lang>"): Entry("web", roles(ANY, anonym=ANY)),
    ("GET", "/"): Entry("web", WEB_PAGE),
    ("POST", "/vorgaenge/starten"): Entry("web", WEB_FORM),
    ("GET", "/aufgaben"): Entry("web", WEB_PAGE),
    ("GET", "/aufgaben/<uuid:task_id>"): Entry("web", WEB_PAGE),
    ("POST", "/aufgaben/<uuid:task_id>"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/<uuid:task_id>/kommentar"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/<uuid:task_id>/uebergeben"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/<uuid:task_id>/uebernehmen"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/<uuid:task_id>/wiedervorlage"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/<uuid:task_id>/zurueckgeben"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/filter"): Entry("web", WEB_FORM),
    ("POST", "/aufgaben/filter/<int:filter_id>/loeschen"): Entry("web", WEB_FORM),
    ("GET", "/vorgaenge"): Entry("web", WEB_PAGE),
    ("GET", "/vorgaenge/<int:instance_id>"): Entry("web", WEB_PAGE),
    ("POST", "/vorgaenge/<int:instance_id>/<aktion>"): Entry("web", WEB_FORM),
    ("POST", "/vorgaenge/<int:instance_id>/dokumente"): Entry("web", WEB_FORM),
    ("POST", "/vorgaenge/<int:instance_id>/kommentar"): Entry("web", WEB_FORM),
    ("GET", "/dokumente/<int:document_id>"): Entry("web", WEB_PAGE),
    ("POST", "/stoerungen/<int:job_id>/wiederholen"): Entry("web", WEB_FORM),
    ("GET", "/modellierung"): Entry("web", WEB_PAGE),
    ("GET", "/modellierung/<key>"): Entry("web", WEB_PAGE),
    ("POST", "/modellierung/<key>/bereitstellen"): Entry("web", WEB_FORM),
    ("GET", "/modellierung/<key>/formular"): Entry("web", WEB_PAGE),
    ("POST", "/modellierung/<key>/formular"): Entry("web", WEB_FORM),
    ("POST", "/modellierung/<key>/speichern"): Entry("web", WEB_FORM),
    ("POST", "/modellierung/<key>/verwerfen"): Entry("web", WEB_FORM),
    ("POST", "/modellierung/hochladen"): Entry("web", WEB_FORM),
    ("POST", "/modellierung/vorschau"): Entry("web", WEB_FORM),
    ("GET", "/verwaltung/benutzer"): Entry("web", WEB_PAGE),
    ("GET", "/verwaltung/benutzer/<int:user_id>"): Entry("web", WEB_PAGE),
    ("POST", "/verwaltung/benutzer/<int:user_id>"): Entry("web", WEB_FORM),
    ("GET", "/verwaltung/benutzer/neu"): Entry("web", WEB_PAGE),
    ("POST", "/verwaltung/benutzer/neu"): Entry("web", WEB_FORM),
    ("GET", "/verwaltung/gruppen"): Entry("web", WEB_PAGE),
    ("GET", "/verwaltung/stoerungen"): Entry("web", WEB_PAGE),
}
