"""Root cause first: the findings of one association as causal chains.

:data:`~sctpinspect.diagnostics.rules.CAUSED_BY` says which rules can explain
which (a zero window stuck at 0 explains the retransmissions and the ABORT
that follow it).  :func:`chains` links every finding to at most one cause
found in the same association and returns the findings in root-cause-first
order with their depth; :func:`verdict` says, per association, the failure that
explains the others.  Nothing here looks at packets: it reads the findings
(rule, proving frames, ``key``) the engine already made, so it costs nothing
per packet and its memory is that of the findings.
"""
from __future__ import annotations

from .rules import CAUSED_BY, SEVERITY_RANK

# rules whose findings are about one data sender: effect and cause must agree on it.
# value: how the finding's ``key`` gives the data sender (0/1).
_DATA_SIDE = {
    "retransmission": lambda k: k, "duplicate-tsn": lambda k: k,
    "zero-window": lambda k: 1 - k if isinstance(k, int) else None,
    "rwnd-deadlock": lambda k: k, "stall": lambda k: k, "pmtu-blackhole": lambda k: k,
    "path-failover": lambda k: k[0] if isinstance(k, tuple) and k else None,
}
_ORDER = {"error": 0, "warn": 1, "info": 2}


def _side(f):
    fn = _DATA_SIDE.get(f.rule)
    if fn is None or f.key is None:
        return None
    return fn(f.key) if isinstance(f.key, (int, tuple)) else None


def _span(f) -> tuple:
    if not f.frames:
        return (0, 1 << 62)
    return (min(f.frames), max(f.frames))


def link(findings: list) -> dict:
    """``{id(effect): cause}`` for the findings of one association."""
    by_rule: dict = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    parent = {}
    for f in findings:
        cands = CAUSED_BY.get(f.rule)
        if not cands:
            continue
        lo, hi = _span(f)
        side = _side(f)
        frames = set(f.frames)
        for rid, mode in cands:
            best = None
            for g in by_rule.get(rid, ()):
                if g is f:
                    continue
                glo, _ = _span(g)
                if mode == "same":
                    if not frames.intersection(g.frames):
                        continue
                elif mode == "after" and glo > hi:
                    continue
                gs = _side(g)
                if side is not None and gs is not None and gs != side:
                    continue
                if best is None or glo < _span(best)[0]:
                    best = g
            if best is not None:
                parent[id(f)] = best
                break
    return parent


def _worst(fs) -> int:
    return min(_ORDER[f.severity] for f in fs)


def chains(findings: list) -> list:
    """``[(finding, depth, cause or None)]`` of one association: each chain's root cause
    first with its effects (depth-first, by first frame) under it; chains ordered by their
    worst severity, then by the root's first frame."""
    parent = link(findings)
    kids: dict = {}
    roots = []
    for f in findings:
        p = parent.get(id(f))
        if p is None:
            roots.append(f)
        else:
            kids.setdefault(id(p), []).append(f)

    def members(f):
        out = [f]
        for k in kids.get(id(f), ()):
            out.extend(members(k))
        return out

    def key(f):
        return (_span(f)[0], _ORDER[f.severity])

    roots.sort(key=lambda r: (_worst(members(r)), _ORDER[r.severity], _span(r)[0]))
    out = []

    def walk(f, depth):
        out.append((f, depth, parent.get(id(f))))
        for k in sorted(kids.get(id(f), ()), key=key):
            walk(k, depth + 1)
    for r in roots:
        walk(r, 0)
    return out


_ABORT_RULES = ("abort", "abort-after-init-ack", "init-aborted")


def verdict(ordered: list) -> str | None:
    """One line: the root cause of the worst chain (``ordered`` from :func:`chains`), and
    what it led to.  None when the association has nothing above info."""
    if not ordered:
        return None
    root = ordered[0][0]
    chain = [root]
    for f, depth, _ in ordered[1:]:
        if depth == 0:
            break
        chain.append(f)
    if SEVERITY_RANK[max((f.severity for f in chain), key=SEVERITY_RANK.__getitem__)] < 1:
        return None
    effects = []
    for f in chain[1:]:
        if f.rule not in effects:
            effects.append(f.rule)
    text = f"{_summary(root)} ({root.rule})"
    aborts = [f for f in chain if f.rule in _ABORT_RULES]
    if aborts and root.rule not in _ABORT_RULES:
        a = aborts[0]
        by = getattr(a, "by", None) or "?"
        t3 = sum(f.extra.get("t3", 0) for f in chain if f.rule == "retransmission")
        head = f"ABORT by {by} in frame {a.frames[-1] if a.frames else '?'}"
        if t3:
            head += f" after {t3} T3-rtx timeout{'s' if t3 != 1 else ''}"
        text = f"{head}: {text}"
    if effects:
        text += " -> " + ", ".join(effects)
    return text


def _summary(f) -> str:
    s = f.extra.get("summary") or f.message
    return s[:300]
