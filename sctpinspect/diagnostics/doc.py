"""Generate the rule table of docs/diagnostics.md from :data:`RULES`.

    python -m sctpinspect.diagnostics.doc            # print the table
    python -m sctpinspect.diagnostics.doc --write    # rewrite it between the markers in the doc

The table sits between ``<!-- rules:begin -->`` and ``<!-- rules:end -->``;
tests/test_diagnose_doc.py fails when the doc and the table disagree.
"""
from __future__ import annotations

import os
import sys

from .rules import CAUSED_BY, RULES, THRESHOLDS

BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"
# further generated blocks: marker name -> function making its text

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


def thresholds_table() -> str:
    out = ["| threshold | default | meaning |", "|---|---|---|"]
    for k, (v, meaning) in THRESHOLDS.items():
        out.append(f"| `{k}` | {v} | {meaning} |")
    return "\n".join(out) + "\n"


def chains_table() -> str:
    out = ["| finding | listed under (first that applies) |", "|---|---|"]
    for effect, causes in CAUSED_BY.items():
        out.append(f"| `{effect}` | " + ", ".join(
            f"`{c}`" + {"after": "", "same": " (same frame)", "any": " (any time)"}[m]
            for c, m in causes) + " |")
    return "\n".join(out) + "\n"


BLOCKS = {"rules": table, "thresholds": thresholds_table, "chains": chains_table}


def render(doc_text: str) -> str:
    for name, fn in BLOCKS.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if name != "rules" and begin not in doc_text:
            continue
        a = doc_text.index(begin) + len(begin)
        b = doc_text.index(end)
        doc_text = doc_text[:a] + "\n" + fn() + doc_text[b:]
    return doc_text


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
