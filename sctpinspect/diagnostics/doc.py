"""Generate the rule table of docs/diagnostics.md from :data:`RULES`.

    python -m sctpinspect.diagnostics.doc            # print the table
    python -m sctpinspect.diagnostics.doc --write    # rewrite it between the markers in the doc

The table sits between ``<!-- rules:begin -->`` and ``<!-- rules:end -->``;
tests/test_diagnose_doc.py fails when the doc and the table disagree.
"""
from __future__ import annotations

import os
import sys

from .rules import RULES

BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "diagnostics.md")


def table() -> str:
    out = []
    group = None
    for r in RULES.values():
        if r.group != group:
            group = r.group
            out += ["", f"### {group[0].upper()}{group[1:]}", "",
                    "| rule | severity | RFC | what it means | check next |", "|---|---|---|---|---|"]
        out.append(f"| `{r.id}` | {r.severity} | {r.rfc} | {r.explanation} | {r.next} |"
                   .replace("\n", " "))
    return "\n".join(out).strip() + "\n"


def render(doc_text: str) -> str:
    a = doc_text.index(BEGIN) + len(BEGIN)
    b = doc_text.index(END)
    return doc_text[:a] + "\n" + table() + doc_text[b:]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--write" in argv:
        path = os.path.normpath(DOC)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(render(text))
        return 0
    sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
