import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.digicheck import (
    ANSWER_SCALE,
    AREAS,
    GESAMT,
    QUESTIONNAIRE,
    QUESTIONS,
    json_schema,
    recommendations,
    score,
    validate_answers,
)
from app.domain.errors import ValidationFailed
from app.domain.ressorts import THEMENBEREICHE


def answers(value: int) -> dict[str, int]:
    return dict.fromkeys(QUESTIONS, value)


def test_questionnaire_shape():
    assert list(AREAS) == [*THEMENBEREICHE, "interne_prozesse", "infrastruktur"]
    assert AREAS["interne_prozesse"].label == "Interne Prozesse"
    assert AREAS["infrastruktur"].label == "Infrastruktur"
    for area in QUESTIONNAIRE:
        assert 3 <= len(area.questions) <= 5
        assert area.recommendation
        for q in area.questions:
            assert q.text.endswith("?")
    assert len(QUESTIONS) == sum(len(a.questions) for a in QUESTIONNAIRE)
    assert sorted(ANSWER_SCALE) == [0, 1, 2, 3, 4]


def test_scores_extremes():
    assert set(score(answers(0)).values()) == {0}
    assert set(score(answers(4)).values()) == {100}
    s = score(answers(2))
    assert list(s) == [*AREAS, GESAMT]
    assert set(s.values()) == {50}


def test_score_per_area_rounding():
    a = answers(4)
    # mobilitaet has 3 questions: 4+4+1 = 9 of 12 -> 75
    a["mobilitaet_3"] = 1
    # verwaltung has 4 questions: 1+0+0+0 = 1 of 16 -> 6.25 -> 6
    a.update(verwaltung_1=1, verwaltung_2=0, verwaltung_3=0, verwaltung_4=0)
    # umwelt: 1+1+0 = 2 of 12 -> 16.67 -> 17
    a.update(umwelt_1=1, umwelt_2=1, umwelt_3=0)
    s = score(a)
    assert s["mobilitaet"] == 75 and s["verwaltung"] == 6 and s["umwelt"] == 17
    exact_mean = (75 + 6.25 + 200 / 12 + 6 * 100) / 9
    assert s[GESAMT] == int(exact_mean + 0.5) == 78  # 77.55 -> 78


def test_missing_and_invalid_answers_all_listed():
    a = answers(3)
    del a["energie_2"]
    del a["infrastruktur_4"]
    a["gesundheit_1"] = 5
    a["gesundheit_2"] = True
    a["quatsch"] = 1
    with pytest.raises(ValidationFailed) as info:
        validate_answers(a)
    msgs = {e.path: e.message for e in info.value.errors}
    assert set(msgs) == {
        "/antworten/energie_2", "/antworten/infrastruktur_4", "/antworten/gesundheit_1",
        "/antworten/gesundheit_2", "/antworten/quatsch",
    }
    assert msgs["/antworten/energie_2"].startswith("Bitte beantworten Sie")
    assert "Energie" in msgs["/antworten/energie_2"]
    with pytest.raises(ValidationFailed):
        score(a)


def test_recommendations_for_weak_areas():
    s = {code: 80 for code in AREAS} | {"energie": 40, "infrastruktur": 10, "umwelt": 50}
    recs = recommendations(s)
    assert len(recs) == 2
    assert recs[0].startswith("Infrastruktur (10 von 100 Punkten) – Dringender Handlungsbedarf")
    assert recs[1].startswith("Energie (40 von 100 Punkten) – Handlungsbedarf:")
    assert recommendations(s, threshold=51)[-1].startswith("Umwelt")
    assert recommendations(score(answers(4))) == []
    assert len(recommendations(score(answers(0)))) == len(AREAS)


def test_json_schema():
    schema = json_schema()
    assert schema["required"] == list(QUESTIONS)
    assert schema["properties"]["verwaltung_3"]["maximum"] == 4


@given(st.fixed_dictionaries({q: st.integers(0, 4) for q in QUESTIONS}))
def test_scores_in_range(a):
    s = score(a)
    assert all(0 <= v <= 100 for v in s.values())
    assert min(s[c] for c in AREAS) <= s[GESAMT] <= max(s[c] for c in AREAS)
