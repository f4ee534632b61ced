"""Acceptance (issue 5, master data): Destatis directory import, history, inactivation,
malformed files, Finanzkraft import, CLI."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.models import Finanzkraft, Municipality, MunicipalityHistory
from tests.integration.phase1_support import (
    DESTATIS,
    JAHR,
    active_ags,
    clean_masterdata,  # noqa: F401 - fixture
    finanzkraft_csv,
    import_directory,
    import_finanzkraft,
)


def _snapshot(platform) -> dict:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        rows = s.scalars(select(Municipality).where(Municipality.demo.is_(False))).all()
        return {m.ags: (m.name, m.kreis, m.regierungsbezirk, m.landesteil, m.einwohner,
                        m.flaeche_km2, m.gemeinde_typ, m.active, m.gebietsstand, m.hfag_status)
                for m in rows}


def _history_count(platform) -> int:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(MunicipalityHistory))


def _lines() -> list[str]:
    return DESTATIS.read_text(encoding="utf-8-sig").splitlines()


def test_import_yields_422_active_gemeinden_per_landesteil_and_reimport_changes_nothing(
        login, platform, clean_masterdata):  # noqa: F811
    admin = login("admin")
    r = import_directory(admin, gebietsstand="2020-12-31")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["angelegt"] == 422 and body["gemeinden_in_datei"] == 422
    assert len(body["ausgelassen"]) == 4  # the uninhabited gemeindefreie Gebiete
    assert all("unbewohnt" in s["message"] for s in body["ausgelassen"])

    snapshot = _snapshot(platform)
    assert len(snapshot) == 422 and all(v[7] for v in snapshot.values())
    assert Counter(v[3] for v in snapshot.values()) == {"Süd": 184, "Mittel": 101, "Nord": 137}
    frankfurt = snapshot["06412000"]
    assert frankfurt[0] == "Frankfurt am Main, Stadt" and frankfurt[4] == 763_380
    assert str(frankfurt[5]) == "248.31" and frankfurt[6] == "kreisfreie Stadt"
    assert frankfurt[2] == "Darmstadt" and str(frankfurt[8]) == "2020-12-31"
    assert snapshot["06435014"][9] == "sonderstatus"  # Hanau
    assert snapshot["06431001"][1] == "Bergstraße"

    again = import_directory(admin, gebietsstand="2020-12-31").get_json()
    assert (again["angelegt"], again["geaendert"], again["deaktiviert"], again["reaktiviert"],
            again["unveraendert"]) == (0, 0, 0, 0, 422)
    assert _snapshot(platform) == snapshot
    assert _history_count(platform) == 0

    r = admin.client.put("/api/phase1/municipalities/06431002/hfag-status",
                         headers=admin.headers, json={"hfag_status": "mittelzentrum"})
    assert r.status_code == 200 and r.get_json()["hfag_status"] == "mittelzentrum"
    r = admin.client.put("/api/phase1/municipalities/06431002/hfag-status",
                         headers=admin.headers, json={"hfag_status": "weltstadt"})
    assert r.status_code == 422 and r.get_json()["errors"][0]["path"] == "/hfag_status"
    sb = login("sb1")
    assert sb.client.put("/api/phase1/municipalities/06431002/hfag-status", headers=sb.headers,
                         json={"hfag_status": None}).status_code == 403
    history = admin.get("/api/phase1/municipalities/06431002").get_json()["history"]
    assert [(h["field"], h["new_value"]) for h in history] == [("hfag_status", "mittelzentrum")]
    assert import_directory(admin).get_json()["geaendert"] == 0  # the import keeps the status

    listed = admin.get("/api/phase1/municipalities",
                       query_string={"include_demo": "false", "active": "true", "per_page": 500})
    assert listed.get_json()["total"] == 422


def test_changed_names_and_population_keep_history_and_missing_gemeinden_become_inactive(
        login, platform, clean_masterdata):  # noqa: F811
    admin = login("admin")
    assert import_directory(admin).status_code == 201
    lines = _lines()
    changed = []
    for line in lines:
        if line.startswith("60,") and ",Abtsteinach," in line:
            line = line.replace(" 2 431,", " 2 500,")  # population of Abtsteinach
        elif line.startswith("60,") and '"Bensheim, Stadt"' in line:
            line = line.replace('"Bensheim, Stadt"', '"Bensheim, Stadt an der Bergstraße"')
        elif line.startswith("60,") and ",Biblis," in line:
            continue  # Biblis missing in the newer directory
        changed.append(line)
    r = import_directory(admin, ("\n".join(changed) + "\n").encode(), "neuer_stand.csv")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["geaenderte_ags"] == ["06431001", "06431002"]
    assert body["deaktivierte_ags"] == ["06431003"]
    assert body["angelegt"] == 0

    detail = admin.get("/api/phase1/municipalities/06431001").get_json()
    assert detail["einwohner"] == 2500
    assert [(h["field"], h["old_value"], h["new_value"]) for h in detail["history"]] == [
        ("einwohner", "2431", "2500")]
    bensheim = admin.get("/api/phase1/municipalities/06431002").get_json()
    assert bensheim["history"][0]["old_value"] == "Bensheim, Stadt"
    biblis = admin.get("/api/phase1/municipalities/06431003").get_json()
    assert biblis["active"] is False and biblis["name"] == "Biblis"  # kept, not deleted
    assert len(active_ags(platform)) == 421

    back = import_directory(admin).get_json()  # the original directory again
    assert back["reaktivierte_ags"] == ["06431003"]
    assert sorted(back["geaenderte_ags"]) == ["06431001", "06431002"]
    assert len(active_ags(platform)) == 422


def test_malformed_directory_is_refused_as_a_whole_with_line_numbers(
        login, platform, clean_masterdata):  # noqa: F811
    admin = login("admin")
    lines = _lines()
    lines[5] = lines[5].replace(" 159 878", " 159x878")  # Darmstadt, line 6
    lines[21] = lines[21].replace(",06,4,31,0003,003,", ",06,4,31,0003,0x3,")  # line 22
    r = import_directory(admin, ("\n".join(lines) + "\n").encode(), "kaputt.csv")
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "file_malformed" and "nichts geändert" in body["message"]
    by_line = {e["line"]: e["message"] for e in body["errors"]}
    assert set(by_line) == {6, 22}
    assert by_line[6].startswith("Zeile 6: Bevölkerungszahl „159x878“")
    assert "Gemeindeschlüssel ungültig" in by_line[22]
    assert _snapshot(platform) == {}  # nothing imported

    assert import_directory(admin, b"\x00\x01kein csv", "x.csv").status_code == 422
    empty = import_directory(admin, b"", "leer.csv")
    assert empty.status_code == 422 and empty.get_json()["errors"][0]["path"] == "/file"


def test_only_admin_imports_master_data(login, clean_masterdata):  # noqa: F811
    for user in ("sb1", "hmind1", "kommune-06490001"):
        r = import_directory(login(user))
        assert r.status_code == 403, user
        assert r.get_json()["code"] == "admin_only"
        assert import_finanzkraft(login(user), b"ags,jahr,finanzkraft_je_einwohner\n").status_code == 403


def test_finanzkraft_import_reports_unknown_and_missing_municipalities(
        login, platform, clean_masterdata):  # noqa: F811
    admin = login("admin")
    assert import_directory(admin).status_code == 201
    ags = active_ags(platform)

    bad = finanzkraft_csv(ags[:5]) + f"06999999,{JAHR},1000.00\n".encode() + b"0641100,2020,x\n"
    r = import_finanzkraft(admin, bad)
    assert r.status_code == 422
    messages = [e["message"] for e in r.get_json()["errors"]]
    assert any("06999999" in m and "unbekannt" in m for m in messages)
    assert any(m.startswith("Zeile 8:") for m in messages)
    with platform.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Finanzkraft)) == 0  # refused as a whole

    partial = import_finanzkraft(admin, finanzkraft_csv(ags[:-3]))
    assert partial.status_code == 201, partial.get_json()
    body = partial.get_json()
    assert body["angelegt"] == 419 and body["jahre"] == [JAHR]
    assert body["fehlende_gemeinden"] == {str(JAHR): ags[-3:]}

    complete = import_finanzkraft(admin, finanzkraft_csv(ags, seed=7)).get_json()
    assert complete["fehlende_gemeinden"] == {str(JAHR): []}
    assert complete["angelegt"] == 3 and complete["geaendert"] + complete["unveraendert"] == 419


def test_cli_imports(app, platform, clean_masterdata, tmp_path):  # noqa: ANN001, F811
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-municipalities", str(DESTATIS), "--gebietsstand",
                                 "2020-12-31"])
    assert result.exit_code == 0, result.output
    assert "422 Gemeinden in der Datei: 422 neu" in result.output
    assert "Michelbuch" in result.output

    path = tmp_path / "fk.csv"
    path.write_bytes(finanzkraft_csv(active_ags(platform)[:-1]))
    result = runner.invoke(args=["import-finanzkraft", str(path)])
    assert result.exit_code == 0, result.output
    assert "421 Werte" in result.output and "fehlt für 1 Gemeinde(n)" in result.output

    broken = tmp_path / "broken.csv"
    broken.write_text("satzart,land\n60,06\n")
    result = runner.invoke(args=["import-municipalities", str(broken)])
    assert result.exit_code == 1
    assert "Pflichtspalten fehlen" in result.output


def test_xlsx_as_destatis_publishes_it_then_the_csv_changes_nothing(
        login, platform, clean_masterdata):  # noqa: F811
    import csv
    import io

    from tests.unit.domain.test_destatis import destatis_xlsx

    rows = []
    for row in list(csv.reader(io.StringIO(DESTATIS.read_text(encoding="utf-8-sig"))))[1:]:
        cells: list[object] = list(row)
        if row[0] == "60":  # numbers as numeric cells, as in the published workbook
            cells[8], cells[9] = float(row[8]), int(row[9].replace(" ", ""))
        rows.append(cells)
    admin = login("admin")
    r = import_directory(admin, destatis_xlsx(rows), "AuszugGV4QAktuell.xlsx")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["format"], body["gebietsstand"], body["angelegt"]) == ("xlsx", "2020-12-31", 422)
    same = import_directory(admin).get_json()  # the CSV layout of the same directory
    assert (same["format"], same["unveraendert"], same["geaendert"]) == ("csv", 422, 0)
    assert _history_count(platform) == 0


def test_first_start_imports_the_shipped_directory_once(platform, clean_masterdata):  # noqa: F811
    """`make run` (app.runner.prepare) imports data/destatis_auszuggv_hessen.csv into a database
    that has never imported a directory; a later start leaves the master data alone."""
    from app.services.masterdata import import_default_directory

    first = import_default_directory(platform)
    assert first is not None and first["angelegt"] == 422
    snapshot = _snapshot(platform)
    assert len(snapshot) == 422 and snapshot["06412000"][0] == "Frankfurt am Main, Stadt"
    assert import_default_directory(platform) is None
    assert _snapshot(platform) == snapshot


def test_no_shipped_directory_when_switched_off(platform, clean_masterdata, monkeypatch):  # noqa: F811
    from app.services.masterdata import import_default_directory

    monkeypatch.setattr(platform.settings, "MASTERDATA_FILE", "")
    assert import_default_directory(platform) is None
    assert _snapshot(platform) == {}
