"""Tests für app.engine.xmlsafe: gehärtetes Einlesen von BPMN/DMN-XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.engine.scripting import make_script_engine
from app.engine.xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_xml

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL_BPMN = (FIXTURES / "minimal_script.bpmn").read_bytes()

BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'

XXE_FILE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<bpmn:definitions {BPMN_NS} id="d">
  <bpmn:process id="p" isExecutable="true"><bpmn:documentation>&xxe;</bpmn:documentation>
  </bpmn:process>
</bpmn:definitions>"""

XXE_HTTP = f"""<?xml version="1.0"?>
<!DOCTYPE definitions [ <!ENTITY remote SYSTEM "http://127.0.0.1:9/evil.dtd"> ]>
<bpmn:definitions {BPMN_NS} id="d">&remote;</bpmn:definitions>"""

XXE_PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE d [ <!ENTITY % ext SYSTEM "http://127.0.0.1:9/x.dtd"> %ext; ]>
<d/>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

PLAIN_DOCTYPE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions>
<bpmn:definitions {BPMN_NS} id="d"/>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE d SYSTEM "file:///etc/passwd">
<d/>"""


# ---------------------------------------------------------------- Ablehnung unsicherer Eingaben


@pytest.mark.parametrize(
    "payload",
    [XXE_FILE, XXE_HTTP, XXE_PARAMETER_ENTITY, BILLION_LAUGHS, PLAIN_DOCTYPE, EXTERNAL_DTD],
    ids=["xxe-file", "xxe-http", "xxe-parameter-entity", "billion-laughs", "plain-doctype",
         "external-dtd"],
)
@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_doctype_and_entities_are_rejected(payload: str, as_bytes: bool) -> None:
    data = payload.encode("utf-8") if as_bytes else payload
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(data, filename="upload.bpmn")
    assert "nicht erlaubt" in str(info.value)
    assert "XXE" in info.value.message
    assert info.value.line == 2
    assert str(info.value) == info.value.message


def test_lowercase_doctype_is_rejected_before_parsing() -> None:
    with pytest.raises(UnsafeXmlError):
        parse_xml(b'<?xml version="1.0"?>\n<!doctype d>\n<d/>')


def test_entity_declaration_without_doctype_is_rejected() -> None:
    # Syntaktisch unsinnig, wird aber schon vor dem Parsen am Rohtext erkannt.
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(b'<d><![CDATA[ <!ENTITY x "y"> ]]></d>')
    assert "ENTITY" in info.value.message


def test_doctype_check_on_parsed_tree_is_a_second_line_of_defence(monkeypatch) -> None:
    # Auch wenn die Rohtext-Prüfung ausfällt, lehnt die Prüfung des geparsten Baums ab.
    import app.engine.xmlsafe as xmlsafe

    monkeypatch.setattr(xmlsafe, "_check_raw_markup", lambda raw: None)
    for payload in (XXE_FILE, BILLION_LAUGHS, PLAIN_DOCTYPE, EXTERNAL_DTD):
        with pytest.raises((UnsafeXmlError, XmlSyntaxError)):
            parse_xml(payload.encode())
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(PLAIN_DOCTYPE.encode())
    assert "DOCTYPE" in info.value.message


# ---------------------------------------------------------------- Syntax und Kodierung


@pytest.mark.parametrize(
    ("payload", "line"),
    [
        (b"<a>\n<b>\n</a>", 3),
        (MINIMAL_BPMN[: len(MINIMAL_BPMN) // 2], None),
        (b"<a></b>", 1),
        (b"<a/><b/>", 1),
        (b"just text", 1),
        (b"<a>&undefined;</a>", 1),
    ],
    ids=["mismatched", "truncated", "wrong-close", "two-roots", "no-markup", "undefined-entity"],
)
def test_malformed_xml_raises_syntax_error_with_line(payload: bytes, line: int | None) -> None:
    with pytest.raises(XmlSyntaxError) as info:
        parse_xml(payload, filename="kaputt.bpmn")
    error = info.value
    assert "nicht wohlgeformt" in error.message
    assert "kaputt.bpmn" in error.message
    assert isinstance(error.line, int)
    if line is not None:
        assert error.line == line
    assert str(error) == error.message


def test_truncated_bpmn_reports_a_line_inside_the_document() -> None:
    truncated = MINIMAL_BPMN[:-40]
    with pytest.raises(XmlSyntaxError) as info:
        parse_xml(truncated)
    assert 1 <= info.value.line <= MINIMAL_BPMN.count(b"\n") + 1


@pytest.mark.parametrize("payload", [b"", b"   \n  "], ids=["empty", "whitespace"])
def test_empty_input_is_a_syntax_error(payload: bytes) -> None:
    with pytest.raises(XmlSyntaxError) as info:
        parse_xml(payload)
    assert "leer" in info.value.message
    assert info.value.line is None


def test_non_utf8_bytes_are_rejected() -> None:
    latin1 = '<?xml version="1.0"?>\n<a>Förderung</a>'.encode("latin-1")
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(latin1)
    assert "UTF-8" in info.value.message
    assert info.value.line == 2


def test_utf16_is_rejected() -> None:
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml('<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16"))
    assert "UTF-16" in info.value.message


def test_declared_non_utf8_encoding_is_rejected() -> None:
    ascii_only = b'<?xml version="1.0" encoding="ISO-8859-1"?><a>x</a>'
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(ascii_only)
    assert "ISO-8859-1" in info.value.message


def test_str_input_ignores_declared_encoding_and_keeps_umlauts() -> None:
    tree = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>Förderung</a>')
    assert tree.getroot().text == "Förderung"


def test_utf8_bom_is_accepted() -> None:
    tree = parse_xml(b"\xef\xbb\xbf" + '<a>Prüfung</a>'.encode())
    assert tree.getroot().text == "Prüfung"


def test_oversized_input_is_rejected_before_parsing() -> None:
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(b"<a>" + b"x" * 200 + b"</a>", max_bytes=100)
    assert "zu groß" in info.value.message


def test_default_size_limit_is_five_megabytes() -> None:
    big = b"<a>" + b"x" * 5_000_000 + b"</a>"
    with pytest.raises(UnsafeXmlError):
        parse_xml(big)


def test_wrong_input_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_xml(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- normale BPMN


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_normal_bpmn_parses_to_element_tree(as_bytes: bool) -> None:
    data = MINIMAL_BPMN if as_bytes else MINIMAL_BPMN.decode("utf-8")
    tree = parse_xml(data, filename="minimal_script.bpmn")
    assert isinstance(tree, etree._ElementTree)
    root = tree.getroot()
    assert etree.QName(root).localname == "definitions"
    assert tree.docinfo.doctype == ""
    assert root.find(".//{*}script").text.startswith('greeting = "Grüß Gott"')


def test_comments_and_processing_instructions_are_harmless() -> None:
    tree = parse_xml(b'<?xml version="1.0"?><?some-pi data?><!-- Kommentar --><a>1</a>')
    assert tree.getroot().text == "1"


def test_parsed_tree_is_accepted_by_spiffworkflow_and_runs() -> None:
    tree = parse_xml(MINIMAL_BPMN, filename="minimal_script.bpmn")
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(tree, filename="minimal_script.bpmn")
    spec = parser.get_spec("minimal_script")
    assert spec.name == "minimal_script"

    workflow = BpmnWorkflow(spec, script_engine=make_script_engine())
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["greeting"] == "Grüß Gott"
    assert workflow.data["counter"] == 2
