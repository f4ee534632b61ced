import csv
import io
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.domain.destatis import (
    DirectoryFormatError,
    FinanzkraftRow,
    finanzkraft_for_year,
    parse_decimal_de,
    parse_directory,
    parse_finanzkraft_csv,
    parse_int_de,
)
from app.domain.municipalities import Landesteil

DATA = Path(__file__).resolve().parents[3] / "data"
DESTATIS_CSV = DATA / "destatis_auszuggv_hessen.csv"
GEMEINDEN_CSV = DATA / "hessen_gemeinden.csv"

HEADER = (
    "satzart,textkennzeichen,land,rb,kreis,vb,gemeinde,gemeindename,flaeche,bevoelkerung,"
    "maennlich,weiblich,jekm2,postleitzahl,laengengrad,breitengrad,schluessel,bezeichnung,"
    "verstaedterungschluessel,verstaedterungbezeichnung"
)
RB_ROW = "20,,06,4,,,,Reg.-Bez. Darmstadt,,,,,,,,,,,,"
KREIS_ROW = "40,44,06,4,31,,,Bergstraße,,,,,,,,,,,,"


def gemeinde_row(gem="001", name="Abtsteinach", population=" 2 431", land="06", kreis="31"):
    return (
        f"60,64,{land},4,{kreis},0001,{gem},{name}, 11.02,{population}, 1 192, 1 239,  221,"
        '69518,"8,786237","49,544051",I15,Odenwald,03,gering besiedelt'
    )


def csv_bytes(*rows, header=HEADER, encoding="utf-8-sig"):
    return "\n".join([header, *rows]).encode(encoding) + b"\n"


@pytest.fixture(scope="module")
def shared_import():
    return parse_directory(DESTATIS_CSV.read_bytes(), DESTATIS_CSV.name)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "raw, expected",
    [(" 159 878", 159878), ("159.878", 159878), ("1\u00a0234", 1234), (42, 42), (42.0, 42)],
)
def test_parse_int_de(raw, expected):
    assert parse_int_de(raw) == expected


@pytest.mark.parametrize("raw", ["12,5", "abc", "1.23", 1.5, True])
def test_parse_int_de_refuses(raw):
    with pytest.raises(ValueError):
        parse_int_de(raw)


@pytest.mark.parametrize(
    "raw, kwargs, expected",
    [
        (" 122.07", {}, "122.07"),
        ("8,653838", {}, "8.653838"),
        ("1.234,56", {}, "1234.56"),
        ("1,234.56", {}, "1234.56"),
        ("1 234,5", {}, "1234.5"),
        ("1.234", {}, "1.234"),
        ("1.234", {"dot_thousands": True}, "1234"),
        ("1234.5", {"dot_thousands": True}, "1234.5"),
        (11.02, {}, "11.02"),
    ],
)
def test_parse_decimal_de(raw, kwargs, expected):
    assert parse_decimal_de(raw, **kwargs) == Decimal(expected)


@pytest.mark.parametrize("raw", ["", "x", "1,2,3", "NaN", "Infinity"])
def test_parse_decimal_de_refuses(raw):
    with pytest.raises(ValueError):
        parse_decimal_de(raw)


# --------------------------------------------------------------------------- shared data file


def test_shared_csv_gives_422_municipalities(shared_import):
    ms = shared_import.municipalities
    assert shared_import.source_format == "csv"
    assert len(ms) == 422
    assert Counter(m.landesteil for m in ms) == {
        Landesteil.SUED: 184,
        Landesteil.MITTEL: 101,
        Landesteil.NORD: 137,
    }
    assert len({m.ags for m in ms}) == 422
    assert [m.ags for m in ms] == sorted(m.ags for m in ms)
    assert all(m.einwohner > 0 for m in ms)
    # the four uninhabited gemeindefreie Gebiete are skipped and reported
    assert [line for line, _ in shared_import.skipped] == [62, 226, 748, 883]
    assert all("gemfr. Gebiet" in note for _, note in shared_import.skipped)
    # no date in the file or in its name
    assert shared_import.gebietsstand is None


def test_shared_csv_names_from_satzart_20_and_40(shared_import):
    by_ags = {m.ags: m for m in shared_import.municipalities}
    frankfurt = by_ags["06412000"]
    assert frankfurt.name == "Frankfurt am Main, Stadt"
    assert frankfurt.kreis == "Frankfurt am Main, Stadt"
    assert frankfurt.einwohner == 763_380
    assert frankfurt.flaeche_km2 == Decimal("248.31")
    assert frankfurt.gemeinde_typ == "kreisfreie Stadt"
    assert by_ags["06431001"].kreis == "Bergstraße"
    assert by_ags["06431001"].gemeinde_typ == "Gemeinde"
    assert by_ags["06531005"].regierungsbezirk == "Gießen"
    assert by_ags["06531005"].landesteil is Landesteil.MITTEL
    assert {m.regierungsbezirk for m in shared_import.municipalities} == {
        "Darmstadt",
        "Gießen",
        "Kassel",
    }


def test_shared_csv_agrees_with_hessen_gemeinden(shared_import):
    with GEMEINDEN_CSV.open(encoding="utf-8", newline="") as f:
        reference = {row["ags"]: row for row in csv.DictReader(f)}
    assert set(reference) == {m.ags for m in shared_import.municipalities}
    for m in shared_import.municipalities:
        ref = reference[m.ags]
        assert (m.name, m.kreis, m.regierungsbezirk, m.landesteil.value) == (
            ref["name"],
            ref["kreis"],
            ref["regierungsbezirk"],
            ref["landesteil"],
        )
        assert m.einwohner == int(ref["einwohner"])
        assert m.flaeche_km2 == Decimal(ref["flaeche_km2"])
        assert m.gemeinde_typ == ref["gemeinde_typ"]


def test_gebietsstand_from_parameter_or_filename(shared_import):
    data = DESTATIS_CSV.read_bytes()
    assert parse_directory(data, "31122020_Auszug_GV.csv").gebietsstand == date(2020, 12, 31)
    stand = date(2021, 3, 31)
    assert parse_directory(data, "31122020_Auszug_GV.csv", stand).gebietsstand == stand


# --------------------------------------------------------------------------- CSV variants


def test_minimal_csv_semicolon_cp1252_and_other_laender_filtered():
    header = HEADER.replace(",", ";")
    rows = [
        "10;;05;;;;;Nordrhein-Westfalen;;;;;;;;;;;;",
        "60;61;05;1;11;0000;000;Düsseldorf, Stadt;217,41;619.294;;;;;;;;;;",
        RB_ROW.replace(",", ";"),
        KREIS_ROW.replace(",", ";"),
        "60;64;06;4;31;0001;001;Abtsteinach;11,02;2.431;;;;;;;;;;",
    ]
    result = parse_directory(csv_bytes(*rows, header=header, encoding="cp1252"), "x.csv")
    (m,) = result.municipalities
    assert (m.ags, m.name, m.kreis, m.einwohner) == ("06431001", "Abtsteinach", "Bergstraße", 2431)
    assert m.flaeche_km2 == Decimal("11.02")


def test_rb_name_falls_back_to_code_without_satzart_20():
    result = parse_directory(csv_bytes(KREIS_ROW, gemeinde_row()), "x.csv")
    assert result.municipalities[0].regierungsbezirk == "Darmstadt"


def test_malformed_csv_lists_all_problems_with_lines():
    data = csv_bytes(
        RB_ROW,  # line 2
        KREIS_ROW,  # 3
        gemeinde_row(),  # 4: fine
        gemeinde_row(gem="0A2", name="Falsch"),  # 5: bad AGS
        gemeinde_row(gem="003", population="viele"),  # 6: non-numeric population
        "60,64,06,4,31,0001,004,Kurz",  # 7: wrong number of fields
        gemeinde_row(gem="001"),  # 8: duplicate AGS
        "99" + gemeinde_row(gem="005")[2:],  # 9: unknown Satzart
        gemeinde_row(gem="006", kreis="99"),  # 10: Kreis without Satzart 40
        gemeinde_row(gem="007", population="-5"),  # 11: negative
    )
    with pytest.raises(DirectoryFormatError) as info:
        parse_directory(data, "x.csv")
    problems = info.value.problems
    assert [line for line, _ in problems] == [5, 6, 7, 8, 9, 10, 11]
    messages = dict(problems)
    assert "Gemeindeschlüssel ungültig" in messages[5] and "0A2" in messages[5]
    assert "keine ganze Zahl" in messages[6]
    assert "8 Felder statt 20" in messages[7]
    assert "doppelt" in messages[8]
    assert "Satzart" in messages[9]
    assert "Kreis 06499" in messages[10]
    assert "negativ" in messages[11]
    assert "Zeile 5:" in str(info.value)


def test_missing_columns_refused():
    header = HEADER.replace("bevoelkerung", "einwohnerzahl").replace("gemeindename", "titel")
    with pytest.raises(DirectoryFormatError) as info:
        parse_directory(csv_bytes(gemeinde_row(), header=header), "x.csv")
    ((line, message),) = info.value.problems
    assert line == 1
    assert "Gemeindename" in message and "Bevölkerung insgesamt" in message


def test_multiline_field_line_numbers():
    rows = [KREIS_ROW, gemeinde_row(name='"Ab\nsteinach"'), gemeinde_row(gem="x")]
    with pytest.raises(DirectoryFormatError) as info:
        parse_directory(csv_bytes(*rows), "x.csv")
    assert [line for line, _ in info.value.problems] == [5]


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"", "leer"),
        (b"\n\n", "leer"),
        (csv_bytes("10,,05,,,,,NRW,,,,,,,,,,,,"), "keine bewohnten hessischen"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", ".xls"),
        (b"PK\x03\x04 not really a zip", "Excel-Datei kann nicht gelesen"),
    ],
)
def test_unusable_files_refused(data, fragment):
    with pytest.raises(DirectoryFormatError) as info:
        parse_directory(data, "x")
    assert any(fragment in message for _, message in info.value.problems)


# --------------------------------------------------------------------------- XLSX


def _openpyxl():
    """openpyxl is needed for XLSX only; without it only these tests are skipped."""
    return pytest.importorskip("openpyxl")


XLSX_HEADER_TOP = {
    1: "Satz-\nart",
    2: "Text-\nkenn-\nzeichen",
    3: "Amtlicher Regionalschlüssel (ARS)",
    8: "Gemeindename",
    9: "Fläche\nkm2 1)",
    10: "Bevölkerung 2)",
    14: "Post-\nleit-\nzahl 3)",
    15: "Geografische Mittelpunktkoordinaten 4)",
    17: "Reisegebiete 5)",
    19: "Grad der Verstädterung 6)",
}
XLSX_HEADER_SUB = {
    3: "Land",
    4: "RB",
    5: "Kreis",
    6: "VB",
    7: "Gem",
    10: "insgesamt",
    11: "männlich",
    12: "weiblich",
    13: "je km2",
    15: "Längengrad",
    16: "Breitengrad",
    17: "Schlüssel",
    18: "Bezeichnung",
    19: "Schlüssel",
    20: "Bezeichnung",
}


def destatis_xlsx(data_rows, *, title_date="31.12.2020", header_top=XLSX_HEADER_TOP, sheet=None):
    """A workbook in the shape Destatis publishes AuszugGV<q>QAktuell.xlsx (data from row 7)."""
    wb = _openpyxl().Workbook()
    wb.active.title = "Deckblatt"
    wb.active["A1"] = "Gemeindeverzeichnis-Informationssystem GV-ISys"
    ws = wb.create_sheet(sheet or "Onlineprodukt_Gemeinden")
    ws["A1"] = "Gemeindeverzeichnis-Informationssystem GV-ISys"
    ws["A2"] = (
        "Alle politisch selbständigen Gemeinden mit ausgewählten Merkmalen am "
        f"{title_date} (4. Quartal)"
    )
    for col, text in header_top.items():
        ws.cell(row=4, column=col, value=text)
    ws.merge_cells("C4:G4")
    ws.merge_cells("J4:M4")
    for col, text in XLSX_HEADER_SUB.items():
        ws.cell(row=5, column=col, value=text)
    for col in range(1, 21):
        ws.cell(row=6, column=col, value=col)
    for offset, row in enumerate(data_rows):
        for col, value in enumerate(row, start=1):
            ws.cell(row=7 + offset, column=col, value=value)
    foot = 7 + len(data_rows) + 1
    ws.cell(row=foot, column=1, value="1) Fläche in km², Quelle: Vermessungsverwaltungen")
    ws.cell(row=foot + 1, column=1, value="2) Bevölkerung: Fortschreibung")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def g60(tk, land, rb, kreis, vb, gem, name, flaeche, einwohner):
    rest = ["69518", "8,786237", "49,544051", "I15", "Odenwald", "03", "gering besiedelt"]
    return ["60", tk, land, rb, kreis, vb, gem, name, flaeche, einwohner, None, None, None, *rest]


XLSX_ROWS = [
    ["10", None, "05", None, None, None, None, "Nordrhein-Westfalen"],
    ["60", "61", "05", "1", "11", "0000", "000", "Düsseldorf, Stadt", 217.41, 619294],
    ["10", None, "06", None, None, None, None, "Hessen"],
    ["20", None, "06", "4", None, None, None, "Reg.-Bez. Darmstadt"],
    ["40", "44", "06", "4", "31", None, None, "Bergstraße"],
    ["50", "50", "06", "4", "31", "0001", None, "Abtsteinach"],
    g60("64", "06", "4", "31", "0001", "001", "Abtsteinach", 11.02, 2431),
    g60("63", "06", "4", "31", "0002", "002", "Bensheim, Stadt", 57.83, 40756),
    g60("66", "06", "4", "31", "9200", "200", "Michelbuch, gemfr. Gebiet", 4.88, 0),
    ["20", None, "06", "6", None, None, None, "Reg.-Bez. Kassel"],
    ["40", "41", "06", "6", "11", None, None, "Kassel, documenta-Stadt"],
    g60("61", "06", "6", "11", "0000", "000", "Kassel, documenta-Stadt", 106.8, 202137),
    g60("64", 6, 6, 33, 1, 1, "Zahlen statt Text", 10, 1000.0),  # cells typed as numbers
    ["40", "44", "06", "6", "33", None, None, "Kassel"],
]


def test_xlsx_in_destatis_shape():
    result = parse_directory(destatis_xlsx(XLSX_ROWS), "AuszugGV4QAktuell.xlsx")
    assert result.source_format == "xlsx"
    assert result.gebietsstand == date(2020, 12, 31)
    got = [(m.ags, m.name, m.kreis, m.regierungsbezirk, m.landesteil, m.einwohner, m.gemeinde_typ)
           for m in result.municipalities]  # fmt: skip
    assert got == [
        ("06431001", "Abtsteinach", "Bergstraße", "Darmstadt", Landesteil.SUED, 2431, "Gemeinde"),
        ("06431002", "Bensheim, Stadt", "Bergstraße", "Darmstadt", Landesteil.SUED, 40756, "Stadt"),
        ("06611000", "Kassel, documenta-Stadt", "Kassel, documenta-Stadt", "Kassel",
         Landesteil.NORD, 202137, "kreisfreie Stadt"),
        ("06633001", "Zahlen statt Text", "Kassel", "Kassel", Landesteil.NORD, 1000, "Gemeinde"),
    ]  # fmt: skip
    assert result.municipalities[0].flaeche_km2 == Decimal("11.02")
    assert [line for line, _ in result.skipped] == [15]


def test_xlsx_gebietsstand_label_preferred():
    data = destatis_xlsx(XLSX_ROWS, title_date="31.12.2019 (Bevölkerung); Gebietsstand: 30.06.2020")
    assert parse_directory(data, "x.xlsx").gebietsstand == date(2020, 6, 30)
    assert parse_directory(data, "x.xlsx", date(2020, 7, 1)).gebietsstand == date(2020, 7, 1)


def test_xlsx_sheet_name_fallback_and_date_parameter():
    data = destatis_xlsx(XLSX_ROWS, sheet="Gemeinden_2021", title_date="")
    result = parse_directory(data, "31032021_Auszug_GV.xlsx")
    assert result.gebietsstand == date(2021, 3, 31)
    assert len(result.municipalities) == 4


def test_xlsx_malformed_rows_reported_with_row_numbers():
    rows = list(XLSX_ROWS)
    rows[6] = g60("64", "06", "4", "31", "0001", "0A1", "Abtsteinach", 11.02, 2431)  # row 13
    rows[7] = g60("63", "06", "4", "31", "0002", "002", "Bensheim", 57.83, "viele")  # row 14
    rows[11] = g60("61", "06", "6", "11", "0000", "000", "", "groß", 202137)  # row 18
    with pytest.raises(DirectoryFormatError) as info:
        parse_directory(destatis_xlsx(rows), "x.xlsx")
    problems = info.value.problems
    assert [line for line, _ in problems] == [13, 14, 18, 18]
    assert "Gem „0A1“" in problems[0][1]
    assert "Bevölkerungszahl „viele“" in problems[1][1]
    assert {problems[2][1], problems[3][1]} == {
        "Gemeindename fehlt.",
        "Fläche „groß“ ist keine Zahl.",
    }


def test_xlsx_missing_columns_and_missing_sheet():
    header = {k: v for k, v in XLSX_HEADER_TOP.items() if k != 8}
    with pytest.raises(DirectoryFormatError) as info:
        parse_directory(destatis_xlsx(XLSX_ROWS, header_top=header), "x.xlsx")
    assert info.value.problems == [(4, "Pflichtspalten fehlen in den Kopfzeilen: Gemeindename")]

    wb = _openpyxl().Workbook()
    wb.active.title = "Tabelle1"
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(DirectoryFormatError, match="Onlineprodukt_Gemeinden"):
        parse_directory(buffer.getvalue(), "x.xlsx")


def test_xlsx_of_shared_data_equals_csv(shared_import):
    """The full Hessen extract written as XLSX cells (numbers as numbers) parses identically."""
    text = DESTATIS_CSV.read_text(encoding="utf-8-sig")
    rows = []
    for row in list(csv.reader(io.StringIO(text)))[1:]:
        cells: list[object] = list(row)
        if row[0] == "60":
            cells[8] = float(row[8])
            cells[9] = int(row[9].replace(" ", ""))
        rows.append(cells)
    result = parse_directory(destatis_xlsx(rows), "AuszugGV4QAktuell.xlsx")
    assert result.municipalities == shared_import.municipalities


# --------------------------------------------------------------------------- Finanzkraft


def test_finanzkraft_csv_comma_and_semicolon():
    rows, problems = parse_finanzkraft_csv(
        b'ags,jahr,finanzkraft_je_einwohner\n06431001,2020,1012.5\n06431002,2020,"987,25"\n'
    )
    assert problems == []
    assert rows == [
        FinanzkraftRow("06431001", 2020, Decimal("1012.5")),
        FinanzkraftRow("06431002", 2020, Decimal("987.25")),
    ]
    rows, problems = parse_finanzkraft_csv(
        "\ufeffAGS;Jahr;Finanzkraft je Einwohner\n"
        "06431001;2020;1.012,50\n06431002;2021;987\n".encode()
    )
    assert problems == []
    assert finanzkraft_for_year(rows, 2020) == {"06431001": Decimal("1012.50")}


def test_finanzkraft_csv_problems_per_line():
    data = (
        b"ags;jahr;finanzkraft_je_einwohner\n"
        b"06431001;2020;1000\n"  # 2 ok
        b"6431002;2020;1000\n"  # 3 bad AGS
        b"06431003;20;abc\n"  # 4 bad year and number
        b"06431004;2020\n"  # 5 field count
        b"06431001;2020;1100\n"  # 6 duplicate
        b"06431005;2020;-3\n"  # 7 negative
        b"\n"
        b"06431006;2020;999,99\n"  # 9 ok
    )
    rows, problems = parse_finanzkraft_csv(data)
    assert [r.ags for r in rows] == ["06431001", "06431006"]
    assert [line for line, _ in problems] == [3, 4, 4, 5, 6, 7]
    assert "8 Ziffern" in problems[0][1]
    assert "Jahr" in problems[1][1] and "keine Zahl" in problems[2][1]


def test_finanzkraft_csv_missing_header_columns():
    rows, problems = parse_finanzkraft_csv(b"ags,betrag\n06431001,1000\n")
    assert rows == []
    assert problems == [(1, "Pflichtspalten fehlen: jahr, finanzkraft_je_einwohner")]
    assert parse_finanzkraft_csv(b"") == ([], [(0, "Die Datei ist leer.")])
