"""Generated demo municipalities (not real data): 30 across Süd, Mittel and Nord, small and large.

AGS are built in the Hessian pattern 06 + Regierungsbezirk + Kreis + Gemeinde, but with Kreis
codes 90–99 that no real Kreis uses, so demo data can never be mistaken for imported master data.
"""

from __future__ import annotations

_NAMES = {
    "Süd": ("4", ["Auenbach", "Birkenfeld am Main", "Dornheim-Süd", "Eichwald", "Falkenau",
                  "Grünstadt", "Hainbrück", "Ilbenau", "Kornfeld", "Lindenhain"]),
    "Mittel": ("5", ["Moosbach", "Nordeck", "Obertal", "Pfahlheim", "Quellstadt",
                     "Rosenau", "Steinfurt", "Tannhausen", "Ulmenried", "Vogelsmühle"]),
    "Nord": ("6", ["Waldeck-Ost", "Wiesenrode", "Zwiefelden", "Achtal", "Bergheim an der Fulda",
                   "Cronsdorf", "Diemelau", "Edertal-West", "Fichtenbrunn", "Gänseberg"]),
}
_RB = {"4": "Darmstadt", "5": "Gießen", "6": "Kassel"}
# alternating small (< 7,500) and large (≥ 7,500) municipalities
_POPULATIONS = [3120, 18450, 5210, 41200, 2890, 9800, 6400, 27300, 4750, 12600]


def demo_municipalities() -> list[dict]:
    result = []
    for landesteil, (rb, names) in _NAMES.items():
        for idx, name in enumerate(names):
            kreis = 90 + idx // 5
            ags = f"06{rb}{kreis:02d}{idx + 1:03d}"
            result.append({
                "ags": ags, "name": name, "kreis": f"Demokreis {kreis}",
                "regierungsbezirk": _RB[rb], "landesteil": landesteil,
                "einwohner": _POPULATIONS[idx],
            })
    return result
