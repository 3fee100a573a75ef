# SPDX-License-Identifier: MIT
"""Licensing: MIT, said once in LICENSE and in one SPDX line at the top of
every source file (what packagers' and auditors' tools read)."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SPDX = "SPDX-License-Identifier: MIT"
# Not source: prose, data, the fuzzers' kept inputs, Debian's own metadata
# (debian/copyright says the licence for the package).
NOT_SOURCE_SUFFIXES = {".md", ".install", ".symbols", ".docs", ".json"}
NOT_SOURCE = {"LICENSE", ".gitignore", "debian/changelog", "debian/control", "debian/copyright",
              "debian/source/format"}


def source_files():
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True,
                           text=True, check=True).stdout.split()
    for n in names:
        p = Path(n)
        if n in NOT_SOURCE or p.suffix in NOT_SOURCE_SUFFIXES or "fuzz/regressions/" in n:
            continue
        yield n


def test_the_licence_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted" in text


def test_every_source_file_carries_an_spdx_line():
    missing = [n for n in source_files()
               if SPDX not in "".join((ROOT / n).read_text(errors="replace").splitlines(True)[:3])]
    assert missing == []
