"""The start page names each action once ("… starten", never "… starten starten")."""

from __future__ import annotations

import pytest

from app.web.home import start_label


@pytest.mark.parametrize(("key", "name", "label"), [
    ("phase1_massenstart", "Phase 1: Vorgänge aller Kommunen starten",
     "Phase 1: Vorgänge aller Kommunen starten"),
    ("x", "KDLZ-Beratung anfragen", "KDLZ-Beratung anfragen"),
    ("x", "Berichtswesen: Mittelabruf, Nachweise, Schlussabrechnung, Blaupause",
     "Berichtswesen: Mittelabruf, Nachweise, Schlussabrechnung, Blaupause starten"),
    ("x", "Phase 1: Zuweisung an eine Kommune (Finanzausweisung)",
     "Phase 1: Zuweisung an eine Kommune (Finanzausweisung) starten"),
    ("cluster_antrag", "Clusterantrag (Gemeinschaftsantrag von fünf Kommunen)",
     "Neuen Clusterantrag stellen"),
])
def test_start_label(key: str, name: str, label: str) -> None:
    assert start_label(key, name) == label
    assert "starten starten" not in start_label(key, name)
