"""Acceptance (issue 5, allocation): parameters per programme year, simulator with
distribution, comparison with the previous year's release, XLSX/CSV export, permissions."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import Phase1Case, ProcessInstance
from tests.integration.phase1_support import (
    BUDGET_16_MIO,
    JAHR,
    active_ags,
    clean_masterdata,  # noqa: F401 - fixture
    finanzkraft_csv,
    import_finanzkraft,
    put,
    setup_hessen,
)


def _count(platform, model, *where) -> int:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_simulation_of_16_million_is_exact_to_the_cent_and_releases_nothing(
        login, platform, clean_masterdata):  # noqa: F811
    setup_hessen(login, platform)
    sb = login("sb1")
    r = sb.post(f"/api/phase1/years/{JAHR}/simulations", json={})
    assert r.status_code == 201, r.get_json()
    run = r.get_json()
    items = run["zuweisungen"]
    assert run["kind"] == "simulation" and run["count"] == 422 == len(items)
    assert run["sum_cents"] == BUDGET_16_MIO == sum(i["zuweisung_cents"] for i in items)
    assert min(i["zuweisung_cents"] for i in items) >= 750_000
    assert all(i["volumen_cents"] >= 1_000_000 for i in items)
    assert all(i["eigenanteil_cents"] == i["volumen_cents"] - i["zuweisung_cents"] for i in items)
    assert max(items, key=lambda i: i["zuweisung_cents"])["ags"] == "06412000"  # Frankfurt

    v = run["verteilung"]
    assert v["gesamt"]["anzahl"] == 422 and v["gesamt"]["summe_cents"] == BUDGET_16_MIO
    assert {k: g["anzahl"] for k, g in v["landesteile"].items()} == {
        "Süd": 184, "Mittel": 101, "Nord": 137}
    assert sum(g["summe_cents"] for g in v["groessenklassen"].values()) == BUDGET_16_MIO
    for group in (*v["landesteile"].values(), *v["groessenklassen"].values()):
        assert group["min_cents"] <= group["median_cents"] <= group["max_cents"]
    assert run["vergleich"]["vorjahr_run_id"] is None

    # nothing released: no cases, no instances
    assert _count(platform, Phase1Case) == 0
    assert _count(platform, ProcessInstance, ProcessInstance.process_key == "phase1_zuweisung") == 0

    # changed parameters: all municipalities get exactly the Sockel when g and h are flat
    flat = sb.post(f"/api/phase1/years/{JAHR}/simulations?zuweisungen=false", json={
        "budget_cents": 422 * 750_000, "elasticity": "0"}).get_json()
    assert flat["verteilung"]["gesamt"]["min_cents"] == flat["verteilung"]["gesamt"][
        "max_cents"] == 750_000
    assert "zuweisungen" not in flat
    # HFAG status per programme year overrides the master data
    override = sb.post(f"/api/phase1/years/{JAHR}/simulations", json={
        "hfag_status": {"06412000": "mittelzentrum", "06435014": ""}}).get_json()
    factors = {i["ags"]: i["hfag_faktor"] for i in override["zuweisungen"]}
    assert (factors["06412000"], factors["06435014"]) == ("1.3000", "1.0900")  # Hanau: ≥ 7,500
    bad = sb.post(f"/api/phase1/years/{JAHR}/simulations",
                  json={"hfag_status": {"06412000": "metropole"}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "/hfag_status/06412000"
    # the stored parameters are unchanged by a simulation
    year = sb.get(f"/api/phase1/years/{JAHR}").get_json()
    assert year["budget_cents"] == BUDGET_16_MIO and year["elasticity"] == "1.0000"


def test_difference_to_the_previous_years_release_and_exports(login, platform,
                                                             clean_masterdata):  # noqa: F811
    setup_hessen(login, platform, jahr=JAHR - 1)
    sb1, sb2 = login("sb1"), login("sb2")
    prev = sb1.post(f"/api/phase1/years/{JAHR - 1}/release-requests", json={}).get_json()
    assert sb2.post(f"/api/phase1/runs/{prev['id']}/approve").status_code == 200

    assert import_finanzkraft(login("admin"), finanzkraft_csv(active_ags(platform), JAHR,
                                                              seed=2021)).status_code == 201
    run = sb1.post(f"/api/phase1/years/{JAHR}/simulations",
                   json={"budget_cents": BUDGET_16_MIO}).get_json()
    vergleich = run["vergleich"]
    assert vergleich["vorjahr_run_id"] == prev["id"]
    assert vergleich["summe_vorjahr_cents"] == BUDGET_16_MIO
    assert vergleich["hoeher"] + vergleich["niedriger"] + vergleich["unveraendert"] == 422
    assert vergleich["hoeher"] > 0 and vergleich["niedriger"] > 0
    assert sum(i["differenz_cents"] for i in run["zuweisungen"]) == 0
    item = next(i for i in run["zuweisungen"] if i["differenz_cents"])
    assert item["zuweisung_cents"] - item["vorjahr_cents"] == item["differenz_cents"]

    xlsx = sb1.get(f"/api/phase1/runs/{run['id']}/export?format=xlsx")
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    rows = list(wb["Zuweisungen"].iter_rows(values_only=True))
    assert rows[0][0] == "AGS" and len(rows) == 423
    # spreadsheet cells are binary floats; each holds a cent amount exactly enough to sum it
    assert sum(Decimal(str(r[9])) for r in rows[1:]) == Decimal("16000000")
    assert {r[0] for r in wb["Verteilung"].iter_rows(values_only=True)} >= {
        "Gesamt", "Landesteil Süd", "Größenklasse klein"}

    csv = sb1.get(f"/api/phase1/runs/{run['id']}/export?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert len(lines) == 423 and lines[0].startswith("AGS;Gemeinde;")
    frankfurt = next(line for line in lines if line.startswith("06412000;"))
    assert "," in frankfurt.split(";")[9]  # decimal comma


def test_parameters_are_validated_and_locked_once_a_release_is_requested(
        login, platform, clean_masterdata):  # noqa: F811
    setup_hessen(login, platform)
    sb = login("sb1")
    r = put(sb, f"/api/phase1/years/{JAHR}", {"g_min": "3", "g_max": "2"})
    assert r.status_code == 422 and "g_min" in r.get_json()["message"]
    r = put(sb, f"/api/phase1/years/{JAHR}", {"budget_cents": 1.5})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/budget_cents"
    r = put(sb, f"/api/phase1/years/{JAHR}", {"budget_cents": 100_000})
    assert r.status_code == 200  # storing is fine, computing is not:
    r = sb.post(f"/api/phase1/years/{JAHR}/simulations", json={})
    assert r.status_code == 422 and "Budget zu klein" in r.get_json()["message"]
    r = put(sb, f"/api/phase1/years/{JAHR}", {"budget_cents": BUDGET_16_MIO,
                                               "laufzeit_ende": f"{JAHR - 1}-12-31"})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/laufzeit_ende"
    assert put(sb, f"/api/phase1/years/{JAHR}", {"budget_cents": BUDGET_16_MIO}).status_code == 200

    assert sb.post(f"/api/phase1/years/{JAHR}/release-requests", json={}).status_code == 201
    r = put(sb, f"/api/phase1/years/{JAHR}", {"budget_cents": 1})
    assert r.status_code == 409 and r.get_json()["code"] == "parameters_locked"
    assert sb.get(f"/api/phase1/years/{JAHR}").get_json()["locked"] is True


def test_missing_finanzkraft_is_reported_not_skipped(login, platform, clean_masterdata):  # noqa: F811
    setup_hessen(login, platform)
    r = login("sb1").post(f"/api/phase1/years/{JAHR}/simulations",
                          json={"finanzkraft_jahr": JAHR - 5})
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "finanzkraft_missing" and len(body["errors"]) == 422


def test_roles_of_the_simulator_and_the_release(login, platform, clean_masterdata):  # noqa: F811
    setup_hessen(login, platform)
    kommune = login("kommune-06490001")
    assert kommune.post(f"/api/phase1/years/{JAHR}/simulations", json={}).status_code == 403
    assert kommune.get(f"/api/phase1/years/{JAHR}").status_code == 403
    assert login("gutachter1").post(f"/api/phase1/years/{JAHR}/release-requests",
                                    json={}).status_code == 403
    assert login("hmind1").post(f"/api/phase1/years/{JAHR}/simulations",
                                json={}).status_code == 201
    run = login("sb1").post(f"/api/phase1/years/{JAHR}/release-requests", json={}).get_json()
    r = login("sb1").post(f"/api/phase1/runs/{run['id']}/approve")
    assert r.status_code == 403 and r.get_json()["code"] == "same_person"
    assert login("admin").post(f"/api/phase1/runs/{run['id']}/approve").status_code == 403
    r = login("hmind1").post(f"/api/phase1/runs/{run['id']}/reject", json={"note": "Budget prüfen"})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    assert login("sb2").post(f"/api/phase1/runs/{run['id']}/approve").status_code == 409
    # rejected: parameters editable again, a new request is possible
    assert put(login("sb1"), f"/api/phase1/years/{JAHR}",
               {"budget_cents": BUDGET_16_MIO + 100}).status_code == 200
