"""HiGHS prints a two-line banner ("Running HiGHS ... Copyright ...") on the C-level stdout the
first time a process constructs a solver, whatever its options (output_flag is set on the
instance, after the constructor has printed). Nothing in it needs the player: `silence_banner`
constructs that first solver with file descriptor 1 pointed at /dev/null, once per process, so
the banner goes nowhere and later solvers print nothing (they never print it again).

Safe: stdout is flushed first (nothing of ours is held back or lost), fd 1 is restored in a
`finally`, and a process without a usable fd 1 or /dev/null (or without highspy) is left as
it is.

SOLVER_LOCK: one HiGHS solve at a time in the process. lineup_portfolio searches a race's
contests in threads; HiGHS keeps a process-wide task scheduler, and solves running side by side
in threads have crashed it (ERGO-Code/HiGHS#810, #3141), so every solve the search starts takes
this lock (they are short: the exact optimizer, the greedy's exact selection). It is
re-entrant: core/optimize.py takes it around every solve it runs, inside callers' own `with`."""

from __future__ import annotations

import os
import sys
import threading

_lock = threading.Lock()
_done = False
SOLVER_LOCK = threading.RLock()


def silence_banner() -> None:
    """Construct the process's first HiGHS solver with the C-level stdout muted (once).
    Threads calling it together wait on the lock until the muted solver exists (`_done` is set
    only then), so none of them constructs an unmuted first solver meanwhile."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        try:
            _mute_first_solver()
        finally:
            _done = True  # once, whatever happened: a second try would not go better


def _mute_first_solver() -> None:
    try:
        import highspy
    except ImportError:
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        highspy.Highs()  # no fd 1 to mute: the banner goes where stdout goes
        return
    try:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
        except OSError:
            return  # no /dev/null to write to: fd 1 left as it is (the banner may print)
        try:
            os.dup2(devnull, 1)
            highspy.Highs()
            _flush_c_stdout()  # C's buffered stdout (a pipe, a file) goes while muted
        except OSError:
            pass  # fd 1 could not be pointed at /dev/null: restored below all the same
        finally:
            try:
                os.dup2(saved, 1)
            finally:
                os.close(devnull)
    finally:
        os.close(saved)


def _flush_c_stdout() -> None:
    import ctypes

    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass
