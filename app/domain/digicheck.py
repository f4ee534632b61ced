"""DigiCheck: self-assessment of a municipality's digital maturity.

Nine areas — the seven Themenbereiche plus "Interne Prozesse" and "Infrastruktur" — with three
to five questions each, answered on a scale 0–4. Each area is scored 0–100, plus an overall
score ("gesamt", mean of the areas). Weak areas get German recommendations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, pointer

ANSWER_MIN = 0
ANSWER_MAX = 4
ANSWER_SCALE: dict[int, str] = {
    0: "nicht vorhanden",
    1: "in Planung",
    2: "begonnen",
    3: "weitgehend umgesetzt",
    4: "vollständig umgesetzt",
}
GESAMT = "gesamt"
WEAK_THRESHOLD = 50
CRITICAL_THRESHOLD = 25


@dataclass(frozen=True)
class Question:
    id: str
    text: str


@dataclass(frozen=True)
class Area:
    code: str
    label: str
    questions: tuple[Question, ...]
    recommendation: str


def _area(code: str, label: str, recommendation: str, *texts: str) -> Area:
    return Area(
        code,
        label,
        tuple(Question(f"{code}_{i}", t) for i, t in enumerate(texts, start=1)),
        recommendation,
    )


QUESTIONNAIRE: tuple[Area, ...] = (
    _area(
        "mobilitaet",
        "Mobilität",
        "Erfassen Sie vorhandene Verkehrs- und Mobilitätsdaten, stellen Sie sie offen bereit "
        "und prüfen Sie gemeinsam mit Nachbarkommunen vernetzte Angebote wie On-Demand-Verkehr.",
        "Stellt die Kommune Verkehrs- und Mobilitätsdaten (z. B. Fahrpläne, Parkraum) digital "
        "und offen bereit?",
        "Gibt es digitale Angebote, die Verkehrsmittel vernetzen (z. B. Sharing, "
        "On-Demand-Verkehr, Mobilitäts-App)?",
        "Wird der Verkehr mit digitalen Systemen erfasst oder gesteuert (z. B. Parkleitsystem, "
        "Ampelsteuerung)?",
    ),
    _area(
        "wirtschaft",
        "Wirtschaft",
        "Bieten Sie Gewerbeleistungen vollständig online an und bauen Sie eine digitale "
        "Wirtschaftsförderung auf, etwa ein Gewerbeflächenportal oder einen lokalen "
        "Online-Marktplatz.",
        "Können Unternehmen Gewerbean-, -um- und -abmeldungen vollständig online erledigen?",
        "Gibt es eine digitale Wirtschaftsförderung (z. B. Gewerbeflächenportal, "
        "Online-Beratung)?",
        "Unterstützt die Kommune den örtlichen Handel bei der Digitalisierung (z. B. lokaler "
        "Online-Marktplatz)?",
        "Ist eine leistungsfähige Breitbandversorgung der Gewerbegebiete gesichert?",
    ),
    _area(
        "gesundheit",
        "Gesundheit",
        "Bündeln Sie Informationen zu Gesundheits- und Pflegeangeboten digital und prüfen Sie "
        "telemedizinische Angebote gemeinsam mit Ärzteschaft und Pflegediensten.",
        "Nutzt die Kommune digitale Angebote der Gesundheitsversorgung (z. B. Telemedizin, "
        "digitale Arztvermittlung)?",
        "Gibt es digitale Unterstützungsangebote für Pflegebedürftige und ältere Menschen?",
        "Sind Informationen zu Gesundheits- und Pflegeangeboten digital gebündelt auffindbar?",
    ),
    _area(
        "energie",
        "Energie",
        "Erfassen Sie die Energieverbräuche der kommunalen Liegenschaften digital und nutzen "
        "Sie die Daten für Steuerung und kommunale Wärmeplanung.",
        "Werden die Energieverbräuche kommunaler Liegenschaften digital erfasst und "
        "ausgewertet?",
        "Setzt die Kommune intelligente Steuerung ein (z. B. Gebäudeleittechnik, smarte "
        "Straßenbeleuchtung)?",
        "Gibt es eine digital gestützte kommunale Wärme- oder Energieplanung?",
    ),
    _area(
        "verwaltung",
        "Verwaltung",
        "Bringen Sie die Verwaltungsleistungen nach dem Onlinezugangsgesetz online, übernehmen "
        "Sie Anträge medienbruchfrei in die Fachverfahren und führen Sie die E-Akte ein.",
        "Sind die Verwaltungsleistungen nach dem Onlinezugangsgesetz (OZG) online beantragbar?",
        "Werden elektronische Anträge ohne Medienbruch in die Fachverfahren übernommen?",
        "Ist die elektronische Akte (E-Akte) eingeführt?",
        "Können Bürgerinnen und Bürger online bezahlen und Bescheide digital empfangen?",
    ),
    _area(
        "umwelt",
        "Umwelt",
        "Erfassen Sie Umweltdaten digital, richten Sie Frühwarnsysteme etwa für Starkregen ein "
        "und veröffentlichen Sie die Daten als offene Daten.",
        "Werden Umweltdaten (z. B. Luftqualität, Pegelstände, Bodenfeuchte) digital erfasst?",
        "Gibt es digitale Frühwarnsysteme (z. B. für Starkregen oder Hochwasser)?",
        "Werden Umweltdaten öffentlich als offene Daten bereitgestellt?",
    ),
    _area(
        "gesellschaft",
        "Gesellschaft",
        "Schaffen Sie digitale Beteiligungsangebote, fördern Sie digitale Kompetenzen etwa "
        "durch Digitallotsen und achten Sie auf barrierefreie Angebote.",
        "Gibt es digitale Beteiligungsangebote (z. B. Online-Bürgerbeteiligung, Mängelmelder)?",
        "Fördert die Kommune digitale Kompetenzen der Bevölkerung (z. B. Kurse, Digitallotsen)?",
        "Gibt es öffentliches WLAN oder digitale Treffpunkte?",
        "Sind die digitalen Angebote der Kommune barrierefrei (BITV 2.0)?",
    ),
    _area(
        "interne_prozesse",
        "Interne Prozesse",
        "Beschließen Sie eine Digitalisierungsstrategie mit klaren Zuständigkeiten, erheben und "
        "optimieren Sie zentrale Abläufe und qualifizieren Sie die Beschäftigten regelmäßig.",
        "Gibt es eine beschlossene Digitalisierungsstrategie mit klaren Zuständigkeiten?",
        "Werden interne Abläufe (z. B. Rechnungsbearbeitung, Urlaubsanträge) digital "
        "abgewickelt?",
        "Werden die Beschäftigten regelmäßig zu digitalen Themen qualifiziert?",
        "Arbeitet die Verwaltung ortsunabhängig mit digitalen Werkzeugen (z. B. mobiles "
        "Arbeiten, Videokonferenzen)?",
        "Werden Prozesse vor ihrer Digitalisierung erhoben und optimiert (Prozessmanagement)?",
    ),
    _area(
        "infrastruktur",
        "Infrastruktur",
        "Sichern Sie leistungsfähige Netzanbindungen, erstellen Sie ein "
        "Informationssicherheitskonzept und planen Sie die Erneuerung der IT-Ausstattung.",
        "Ist die Verwaltung an ein leistungsfähiges Breitband- bzw. Glasfasernetz angeschlossen?",
        "Gibt es ein Informationssicherheitskonzept (z. B. nach BSI IT-Grundschutz) und eine "
        "verantwortliche Person für Informationssicherheit?",
        "Ist die IT-Ausstattung aktuell und wird sie planmäßig erneuert?",
        "Sind Schulen und öffentliche Gebäude digital angebunden?",
    ),
)

AREAS: dict[str, Area] = {a.code: a for a in QUESTIONNAIRE}
QUESTIONS: dict[str, tuple[str, Question]] = {
    q.id: (a.code, q) for a in QUESTIONNAIRE for q in a.questions
}


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def validate_answers(answers: Mapping[str, int]) -> None:
    """Raise :class:`ValidationFailed` listing every missing, unknown or invalid answer."""
    errors: list[FieldError] = []
    for qid, (area, question) in QUESTIONS.items():
        if qid not in answers or answers[qid] is None:
            errors.append(
                FieldError(
                    pointer("antworten", qid),
                    f"Bitte beantworten Sie die Frage im Bereich {AREAS[area].label}: "
                    f"„{question.text}“",
                )
            )
        elif _not_int(answers[qid]) or not ANSWER_MIN <= answers[qid] <= ANSWER_MAX:
            errors.append(
                FieldError(
                    pointer("antworten", qid),
                    f"Die Antwort auf „{question.text}“ muss eine Stufe von {ANSWER_MIN} bis "
                    f"{ANSWER_MAX} sein.",
                )
            )
    for qid in answers:
        if qid not in QUESTIONS:
            errors.append(
                FieldError(pointer("antworten", qid), f"„{qid}“ ist keine Frage des DigiChecks.")
            )
    if errors:
        raise ValidationFailed("Der DigiCheck ist unvollständig oder fehlerhaft.", errors)


def _round_half_up(value: Fraction) -> int:
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def score(answers: Mapping[str, int]) -> dict[str, int]:
    """Scores 0–100 per area (in questionnaire order) and ``"gesamt"`` (mean of the areas)."""
    validate_answers(answers)
    exact: dict[str, Fraction] = {}
    for area in QUESTIONNAIRE:
        total = sum(answers[q.id] for q in area.questions)
        exact[area.code] = Fraction(total * 100, ANSWER_MAX * len(area.questions))
    result = {code: _round_half_up(v) for code, v in exact.items()}
    result[GESAMT] = _round_half_up(sum(exact.values(), Fraction(0)) / len(exact))
    return result


def recommendations(scores: Mapping[str, int], threshold: int = WEAK_THRESHOLD) -> list[str]:
    """German recommendations for every area scoring below ``threshold``, weakest first."""
    weak = [
        (scores[a.code], i, a)
        for i, a in enumerate(QUESTIONNAIRE)
        if a.code in scores and scores[a.code] < threshold
    ]
    result: list[str] = []
    for value, _, area in sorted(weak, key=lambda t: (t[0], t[1])):
        urgency = "Dringender Handlungsbedarf" if value < CRITICAL_THRESHOLD else "Handlungsbedarf"
        result.append(f"{area.label} ({value} von 100 Punkten) – {urgency}: {area.recommendation}")
    return result


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the answers object, for the form engine."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "DigiCheck",
        "type": "object",
        "additionalProperties": False,
        "required": list(QUESTIONS),
        "properties": {
            qid: {
                "title": question.text,
                "description": AREAS[area].label,
                "type": "integer",
                "minimum": ANSWER_MIN,
                "maximum": ANSWER_MAX,
                "oneOf": [{"const": k, "title": v} for k, v in ANSWER_SCALE.items()],
            }
            for qid, (area, question) in QUESTIONS.items()
        },
    }
