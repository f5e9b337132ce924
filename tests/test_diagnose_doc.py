"""docs/diagnostics.md lists every rule exactly as the catalogue says."""
from conftest import REPO
from sctpinspect.diagnostics import RULES
from sctpinspect.diagnostics.doc import render


def test_doc_table_is_generated_from_the_catalogue():
    text = (REPO / "docs" / "diagnostics.md").read_text()
    assert text == render(text), "run: python -m sctpinspect.diagnostics.doc --write"
    for rid, r in RULES.items():
        assert f"| `{rid}` | {r.severity} | {r.rfc} |" in text


def test_every_rule_row_is_complete():
    for r in RULES.values():
        assert r.severity in ("info", "warn", "error")
        # a rule about the tool's own limits names the document of its caps
        ref = r.rfc.startswith("RFC ") or (r.group == "limits" and r.rfc.startswith("docs/"))
        assert ref and r.explanation and r.next, r.id
