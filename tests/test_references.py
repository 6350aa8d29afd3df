"""The code and docs cite lectures and papers by author and title (docs/references.md), never by the
internal numbering of the documents they came from (the word "seed" and a number)."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_internal_document_names():
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    # the word followed by a document number, by "lecture(s)" or "note(s)", or as a folder name
    pattern = re.compile(r"\bseeds? (lectures? )?00\d|\bseed (lectures?|notes?)\b|\bseeds/", re.IGNORECASE)
    hits = [f"{name}:{n}" for name in files if name.endswith((".py", ".md", ".sh", ".cpp", ".cu"))
            if (ROOT / name).is_file()
            for n, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
            if pattern.search(line)]
    assert not hits, "cite the lecture or paper (docs/references.md) instead: " + ", ".join(hits[:10])
