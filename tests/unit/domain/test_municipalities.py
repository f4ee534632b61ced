from decimal import Decimal

import pytest

from app.domain.municipalities import (
    RB_CODE_LANDESTEIL,
    REGIERUNGSBEZIRK_LANDESTEIL,
    SONDERSTATUS_STAEDTE,
    HfagStatus,
    Landesteil,
    Municipality,
    is_valid_ags,
    landesteil_for_regierungsbezirk,
    landesteil_from_ags,
    normalize_regierungsbezirk,
    parse_hfag_status,
    size_class,
    validate_ags,
)


def make(**overrides):
    values = dict(
        ags="06431001",
        name="Abtsteinach",
        kreis="Bergstraße",
        regierungsbezirk="Darmstadt",
        landesteil=Landesteil.SUED,
        einwohner=2431,
    )
    values.update(overrides)
    return Municipality(**values)


def test_landesteil_values():
    assert [lt.value for lt in Landesteil] == ["Süd", "Mittel", "Nord"]
    assert Landesteil("Süd") is Landesteil.SUED


def test_regierungsbezirk_mapping_by_name_and_code():
    assert REGIERUNGSBEZIRK_LANDESTEIL == {
        "Darmstadt": Landesteil.SUED,
        "Gießen": Landesteil.MITTEL,
        "Kassel": Landesteil.NORD,
    }
    assert RB_CODE_LANDESTEIL == {
        "4": Landesteil.SUED,
        "5": Landesteil.MITTEL,
        "6": Landesteil.NORD,
    }
    assert landesteil_for_regierungsbezirk("Reg.-Bez. Gießen") is Landesteil.MITTEL
    assert landesteil_for_regierungsbezirk("Giessen") is Landesteil.MITTEL
    assert landesteil_for_regierungsbezirk(6) is Landesteil.NORD
    assert landesteil_for_regierungsbezirk("4") is Landesteil.SUED
    with pytest.raises(ValueError, match="Unbekannter"):
        landesteil_for_regierungsbezirk("Köln")


def test_normalize_regierungsbezirk():
    assert normalize_regierungsbezirk("Reg.-Bez. Darmstadt") == "Darmstadt"
    assert normalize_regierungsbezirk("Regierungsbezirk Kassel") == "Kassel"
    assert normalize_regierungsbezirk("5") == "Gießen"


def test_landesteil_from_ags():
    assert landesteil_from_ags("06431001") is Landesteil.SUED
    assert landesteil_from_ags("06531005") is Landesteil.MITTEL
    assert landesteil_from_ags("06611000") is Landesteil.NORD
    with pytest.raises(ValueError, match="nicht zu Hessen"):
        landesteil_from_ags("05111000")


@pytest.mark.parametrize("value", ["06431001", " 06431001\n"])
def test_validate_ags_accepts(value):
    assert validate_ags(value) == "06431001"
    assert is_valid_ags(value)


@pytest.mark.parametrize("value", ["6431001", "064310011", "0643100A", "", 6431001, None])
def test_validate_ags_refuses(value):
    with pytest.raises(ValueError, match="Gemeindeschlüssel"):
        validate_ags(value)
    assert not is_valid_ags(value)


def test_size_class_threshold():
    assert size_class(7499) == "klein"
    assert size_class(7500) == "gross"
    assert size_class(9999, threshold=10_000) == "klein"
    with pytest.raises(TypeError):
        size_class(Decimal("7500"))


def test_hfag_status_parsing():
    assert parse_hfag_status(None) is None
    assert parse_hfag_status("") is None
    assert parse_hfag_status("Mittelzentrum") is HfagStatus.MITTELZENTRUM
    assert parse_hfag_status("sonderstatus") is HfagStatus.SONDERSTATUS
    with pytest.raises(ValueError, match="HFAG-Status"):
        parse_hfag_status("oberzentrum")


def test_municipality_is_validated_and_frozen():
    m = make(landesteil="Süd", hfag_status="mittelzentrum", flaeche_km2=Decimal("11.02"))
    assert m.landesteil is Landesteil.SUED
    assert m.hfag_status is HfagStatus.MITTELZENTRUM
    assert m.size_class() == "klein"
    with pytest.raises(AttributeError):
        m.einwohner = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        make(ags="0643100")
    with pytest.raises(ValueError):
        make(einwohner=-1)
    with pytest.raises(TypeError):
        make(einwohner=2431.0)
    with pytest.raises(TypeError):
        make(flaeche_km2=11.02)
    with pytest.raises(ValueError):
        make(landesteil="Ost")


def test_sonderstatus_staedte_are_hessian_ags():
    assert len(SONDERSTATUS_STAEDTE) == 7
    assert all(validate_ags(a).startswith("06") for a in SONDERSTATUS_STAEDTE)
