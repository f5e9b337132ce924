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
        assert r.rfc.startswith("RFC ") and r.explanation and r.next, r.id
