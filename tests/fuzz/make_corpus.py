"""Write the seed corpus (tests/fuzz/corpus/TARGET/seed-NN) from seeds.py.

    python tests/fuzz/make_corpus.py
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from seeds import seeds_for  # noqa: E402
from targets import TARGETS  # noqa: E402

for name in TARGETS:
    d = HERE / "corpus" / name
    d.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(seeds_for(name)):
        (d / f"seed-{i:02d}").write_bytes(s)
    print(name, len(list(d.iterdir())))
