import pytest

from app.domain.errors import (
    BudgetExceeded,
    DomainError,
    FieldError,
    RuleViolation,
    ValidationFailed,
    pointer,
    raise_if_errors,
)


def test_codes_and_hierarchy():
    assert ValidationFailed().code == "validation_failed"
    assert BudgetExceeded().code == "budget_exceeded"
    assert RuleViolation().code == "rule_violation"
    for cls in (ValidationFailed, BudgetExceeded, RuleViolation):
        assert issubclass(cls, DomainError)
        assert cls().message  # German default message


def test_code_can_be_overridden_per_instance_only():
    exc = ValidationFailed("Der Cluster ist ungültig.", code="cluster_invalid")
    assert exc.code == "cluster_invalid"
    assert ValidationFailed().code == "validation_failed"


def test_to_dict_and_str():
    exc = ValidationFailed(
        "Fehler", [FieldError("/eigenanteil", "Der Eigenanteil fehlt.")], details={"a": 1}
    )
    assert exc.to_dict() == {
        "code": "validation_failed",
        "message": "Fehler",
        "errors": [{"path": "/eigenanteil", "message": "Der Eigenanteil fehlt."}],
        "details": {"a": 1},
    }
    assert "/eigenanteil" in str(exc)
    assert str(RuleViolation("Nein.")) == "Nein."


def test_pointer_escapes():
    assert pointer("partner", 2, "ags") == "/partner/2/ags"
    assert pointer("a/b", "c~d") == "/a~1b/c~0d"


def test_raise_if_errors():
    raise_if_errors([])
    with pytest.raises(ValidationFailed) as info:
        raise_if_errors([FieldError("/x", "X fehlt.")])
    assert info.value.errors == [FieldError("/x", "X fehlt.")]
