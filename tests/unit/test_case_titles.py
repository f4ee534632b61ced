"""The title rules of a case (app/services/case_titles.py)."""

from __future__ import annotations

from app.services.case_titles import shown, title_of


def test_titles_name_what_the_case_is_about() -> None:
    assert title_of("Clusterantrag (Gemeinschaftsantrag)", "cluster_antrag",
                    {"cluster_name": "Nordlicht", "aktenzeichen": "HMinD-1"}, "Nordeck", None) \
        == "Clusterantrag „Nordlicht“ (HMinD-1)"
    assert title_of("DigiCheck", "digicheck", {"aktenzeichen": "X"}, "Nordeck", None) \
        == "DigiCheck Nordeck"
    assert title_of("Phase 1", "phase1_zuweisung", {"aktenzeichen": "HMinD-P1-7"}, "Nordeck",
                    None) == "HMinD-P1-7 · Nordeck"
    assert title_of("Demo-Antrag (Testprozess der Plattform)", "demo_antrag", {}, "Nordeck",
                    "A-1") == "Demo-Antrag · Nordeck · A-1"
    assert title_of("", "x", {"cluster_name": "  "}, None, None) == "x"
    assert len(title_of("p", "p", {"cluster_name": "n" * 1000}, None, None)) == 300


def test_cases_without_a_title_fall_back_to_business_key_and_number() -> None:
    assert shown(7, None, "A-1") == "A-1" and shown(7, None, None) == "Vorgang 7"
