"""REPRODUCTION.md's measured tables are what ``scripts/reproduction_tables.py`` prints from the
committed ``submissions/*/scores.json`` and ``log.csv`` files, so every number there is traceable."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reproduction_md_holds_exactly_the_tables_the_script_prints_from_the_committed_scores():
    printed = subprocess.run([sys.executable, "scripts/reproduction_tables.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
    assert printed.startswith("### Table 4") and "### Table 8" in printed
    assert printed in (ROOT / "REPRODUCTION.md").read_text(), (
        "REPRODUCTION.md is out of date: paste the output of python scripts/reproduction_tables.py over its tables")
