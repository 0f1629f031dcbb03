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


NO_DEVNULL = """
import os
import highspy  # imported before os.open refuses
from nascar_pipeline.core import highs_banner

def refuse(*args, **kwargs):
    raise OSError("no /dev/null here")

os.open = refuse
highs_banner.silence_banner()
assert highs_banner._done
print("still here")
"""


def test_no_devnull_leaves_the_process_as_it_is():
    out = subprocess.run(
        [sys.executable, "-c", NO_DEVNULL], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines()[-1] == "still here"


def test_callers_together_wait_for_the_muted_solver(monkeypatch):
    """Threads asking at once return only once the muted first solver exists (one is made)."""
    import threading
    import time

    from nascar_pipeline.core import highs_banner

    made = []

    def slow_mute():
        time.sleep(0.2)
        made.append(time.monotonic())

    monkeypatch.setattr(highs_banner, "_done", False)
    monkeypatch.setattr(highs_banner, "_mute_first_solver", slow_mute)
    returned = []

    def ask():
        highs_banner.silence_banner()
        returned.append(time.monotonic())

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(made) == 1 and len(returned) == 3
    assert min(returned) >= made[0]
