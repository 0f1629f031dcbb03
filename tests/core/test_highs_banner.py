"""HiGHS' banner is muted (core/highs_banner.py) and nothing else of stdout is lost, around it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import highspy
from nascar_pipeline.core.highs_banner import silence_banner
print("before", flush=False)
silence_banner()
silence_banner()
print("between")
highspy.Highs()
print("after")
"""


def test_banner_muted_and_stdout_kept():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines() == ["before", "between", "after"]
    assert "HiGHS" not in out.stdout + out.stderr
