import json

import pytest

from app.domain.errors import ValidationFailed
from app.domain.ressorts import (
    DATA_FILE,
    IMMER_BETEILIGT,
    RESSORTS,
    THEMA_RESSORTS,
    THEMENBEREICHE,
    group_name,
    load_ressort_config,
    parse_ressort_config,
    ressort_from_group,
    ressort_kurzname,
    ressort_name,
    ressorts_for,
    themenbereich_label,
)


def test_themenbereiche():
    assert list(THEMENBEREICHE) == [
        "mobilitaet", "wirtschaft", "gesundheit", "energie", "verwaltung", "umwelt",
        "gesellschaft",
    ]
    assert themenbereich_label("mobilitaet") == "Mobilität"
    assert themenbereich_label("gesellschaft") == "Gesellschaft"


def test_mapping_per_brief():
    assert THEMA_RESSORTS == {
        "mobilitaet": ("wirtschaft",),
        "wirtschaft": ("wirtschaft",),
        "energie": ("wirtschaft",),
        "gesundheit": ("gesundheit",),
        "umwelt": ("umwelt",),
        "verwaltung": ("innern",),
        "gesellschaft": ("soziales",),
    }
    assert IMMER_BETEILIGT == ("finanzen",)
    assert "Wirtschaft, Energie, Verkehr, Wohnen" in ressort_name("wirtschaft")
    assert "Familie, Senioren, Sport, Gesundheit und Pflege" in ressort_name("gesundheit")
    assert "Landwirtschaft und Umwelt, Weinbau, Forsten, Jagd und Heimat" in ressort_name(
        "umwelt"
    )
    assert "Innern" in ressort_name("innern") and "Heimatschutz" in ressort_name("innern")
    assert "Arbeit, Integration, Jugend und Soziales" in ressort_name("soziales")
    assert "Finanzen" in ressort_name("finanzen")
    assert "digitales" in RESSORTS
    assert ressort_kurzname("innern") == "Innern, Sicherheit und Heimatschutz"


def test_ressorts_for():
    assert ressorts_for([]) == ["finanzen"]
    assert ressorts_for(["mobilitaet", "energie", "wirtschaft"]) == ["finanzen", "wirtschaft"]
    assert ressorts_for(["gesellschaft", "umwelt", "verwaltung", "gesundheit"]) == [
        "finanzen", "gesundheit", "innern", "soziales", "umwelt"
    ]
    assert ressorts_for(["umwelt", "umwelt"]) == ["finanzen", "umwelt"]


def test_ressorts_for_unknown_thema():
    with pytest.raises(ValidationFailed) as info:
        ressorts_for(["umwelt", "raumfahrt"])
    assert info.value.errors[0].path == "/themenbereiche/1"
    assert "raumfahrt" in info.value.errors[0].message


def test_group_names():
    assert group_name("innern") == "ressort-innern"
    assert ressort_from_group("ressort-innern") == "innern"
    assert ressort_from_group("ressort-mond") is None
    assert ressort_from_group("gutachter") is None
    for code in RESSORTS:
        assert ressort_from_group(group_name(code)) == code


def test_data_file_is_the_source():
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert set(raw["themenbereiche"]) == set(THEMENBEREICHE)
    assert load_ressort_config().thema_ressorts == THEMA_RESSORTS


def test_alternative_config(tmp_path):
    cfg = parse_ressort_config(
        {
            "ressorts": {"a": {"name": "Ministerium A"}, "f": {"name": "Finanzen"}},
            "themenbereiche": {"x": {"label": "X", "ressorts": ["a"]}},
            "immer_beteiligt": ["f"],
        }
    )
    assert ressorts_for(["x"], cfg) == ["a", "f"]
    assert ressort_kurzname("a", cfg) == "Ministerium A"
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"ressorts": {}, "themenbereiche": {}}), encoding="utf-8")
    assert ressorts_for([], load_ressort_config(path)) == []


def test_inconsistent_config_refused():
    with pytest.raises(ValueError):
        parse_ressort_config(
            {"ressorts": {}, "themenbereiche": {"x": {"label": "X", "ressorts": ["nix"]}}}
        )
    with pytest.raises(ValueError):
        parse_ressort_config({"ressorts": []})
    with pytest.raises(ValueError):
        parse_ressort_config({"ressorts": {"a b": {"name": "A"}}, "themenbereiche": {}})
