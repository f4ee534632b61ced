"""app.domain.phase2: the rules BPMN scripts call (JSON in, JSON out)."""

from __future__ import annotations

import pytest

from app.domain import phase2
from app.domain.errors import ValidationFailed


def test_file_number():
    assert phase2.file_number(2027, 42) == "HMinD-DK-2027-00042"
    with pytest.raises(ValueError, match="laufende Nummer"):
        phase2.file_number(2027, 0)


def test_reporting_schedule_follows_term_and_deadlines():
    plan = phase2.reporting_schedule("2027-01-01", 24)
    assert plan["ende"] == "2028-12-31" and plan["haushaltsjahre"] == [2027, 2028]
    [zn] = plan["zwischennachweise"]
    assert (zn["jahr"], zn["faellig"], zn["erinnerung"]) == (2027, "2028-04-30", "2028-04-02")
    assert zn["erinnerung_timer"] == "2028-04-02T00:00:00+00:00"
    assert plan["verwendungsnachweis"]["faellig"] == "2029-06-30"
    assert plan["verwendungsnachweis"]["erinnerung"] == "2029-06-02"
    mid = phase2.reporting_schedule("2027-07-01", 24)
    assert [z["jahr"] for z in mid["zwischennachweise"]] == [2027, 2028]
    assert mid["haushaltsjahre"] == [2027, 2028, 2029]
    with pytest.raises(ValidationFailed):
        phase2.reporting_schedule("31.12.2027", 24)


def test_split_funding_is_exact_and_proportional():
    plan = [{"jahr": 2027, "betrag_cents": 125_000_000},
            {"jahr": 2028, "betrag_cents": 100_000_000},
            {"jahr": 2028, "betrag_cents": 24_999_999}]
    split = phase2.split_funding(plan, 187_499_999)
    assert sum(s["betrag_cents"] for s in split) == 187_499_999
    assert split[0] == {"jahr": 2027, "betrag_cents": 93_750_000}
    assert phase2.split_funding([], 100, jahre=[2027, 2028]) == [
        {"jahr": 2027, "betrag_cents": 50}, {"jahr": 2028, "betrag_cents": 50}]
    assert phase2.split_funding([], 100) == []


def test_shift_plan_moves_amounts_to_the_actual_budget_years():
    betraege = [{"jahr": 2026, "betrag_cents": 10}, {"jahr": 2027, "betrag_cents": 20}]
    assert phase2.shift_plan(betraege, [2027, 2028]) == [
        {"jahr": 2027, "betrag_cents": 10}, {"jahr": 2028, "betrag_cents": 20}]
    assert phase2.shift_plan(betraege, [2027]) == [{"jahr": 2027, "betrag_cents": 30}]


def test_amounts_per_year_must_fit_term_and_total():
    phase2.validate_amounts_per_year([{"jahr": 2027, "betrag_cents": 60},
                                      {"jahr": 2028, "betrag_cents": 40}], 100, [2027, 2028])
    with pytest.raises(ValidationFailed) as exc:
        phase2.validate_amounts_per_year([{"jahr": 2030, "betrag_cents": 60},
                                          {"jahr": 2030, "betrag_cents": 40}], 101, [2027, 2028])
    paths = [e.path for e in exc.value.errors]
    assert paths == ["/betraege_je_jahr/0/jahr", "/betraege_je_jahr/1/jahr", "/betraege_je_jahr"]
    assert "1,01 €" in exc.value.errors[-1].message


def test_partner_confirmations_and_ressort_conditions():
    ok = [{"partner_kommune": "06400001", "teilnahme": "zugesagt"}]
    no = ok + [{"partner_kommune": "06400002", "teilnahme": "abgesagt"}]
    assert phase2.all_confirmed(ok) and not phase2.all_confirmed(no)
    assert phase2.declined(no) == ["06400002"]
    auflagen = phase2.auflagen_aus([
        {"ressort": "finanzen", "votum": "mit_auflagen", "auflagen": "Quartalsberichte"},
        {"ressort": "innern", "votum": "zustimmend", "auflagen": ""}])
    assert auflagen == ["Hessisches Ministerium der Finanzen: Quartalsberichte"]
    assert phase2.sum_costs({"Personal": 1, "Sachkosten": 2}) == 3


def test_script_function_names_are_valid_identifiers():
    assert all(name.isidentifier() and not name.startswith("_")
               for name in phase2.SCRIPT_FUNCTIONS)
