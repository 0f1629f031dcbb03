"""Exact ranks of our lineups against a large field, streamed over scenarios in bounded memory.

For every scenario and each of our N lineups this counts the entries (field + ours) scoring strictly
more (`better`) and the entries scoring the same, itself included (`tied`). Pure NumPy; no I/O.

Why it is shaped this way (150 lineups vs a 200,000 field over 10,000 scenarios is 2e9 field scores):
- Points are whole numbers of a common unit (`integer_points`: quantized to 1e-4 as before, then
  divided by their greatest common divisor; DraftKings points are multiples of 0.05), so every
  lineup score is an exact integer and ties are exact whatever the summation order.
- Identical field lineups are collapsed with a count: a generated 200,000 field holds about 94,000
  distinct lineups, and the counts weight the histogram.
- Scenarios go in chunks sized from a byte budget, never the whole (S, F) matrix. For a chunk, one
  float32 matrix product scores every distinct field lineup and, through an extra column, adds each
  scenario's histogram offset plus 2**23: the results then lie in [2**23, 2**24), where float32 holds
  every integer and its bit pattern is 0x4B000000 + the integer, so the histogram bin of each score
  is read straight off the bits (no float-to-int conversion pass). One weighted bincount over the
  chunk gives per-scenario score histograms; a cumulative sum turns them into "entries above".
- Small chunks (about 30 MB of work per worker) stay in cache; two workers (threads: the matrix
  product, the subtraction and bincount release the GIL) use both cores, each with one BLAS thread
  (core.blas_threads) so that OpenBLAS's own threads do not oversubscribe the cores.
- When a scenario's score range is too wide for a histogram (points on a very fine grid), each
  scenario's field scores are sorted instead (float64, still exact), as the old implementation did.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nascar_pipeline.core.blas_threads import single_blas_thread

QUANT = 10_000.0  # points are first quantized to 1/QUANT (as core.contest always did)
_MAGIC = 2**23  # float32 integers in [2**23, 2**24) have bit pattern 0x4B000000 + (x - 2**23)
_MAGIC_BITS = 0x4B000000
_MAX_BINS_PER_SCENARIO = 1 << 20  # wider score ranges use the sorting path
WORK_BYTES_PER_WORKER = 32 << 20  # chunk working set per worker: measured best near 32 MB


def integer_points(points) -> np.ndarray:
    """(S, D) points -> (S, D) int64 whole numbers of the coarsest common unit.

    Quantized to 1e-4 points first (exact for any site's scoring), then divided by the greatest
    common divisor of every value: DraftKings points (multiples of 0.05) become units of 0.05. Sums of
    these integers rank and tie exactly as sums of the 1e-4 quantized points did."""
    p = np.asarray(points, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError("points must be finite to rank lineups")
    q = np.round(p * QUANT).astype(np.int64)
    g = int(np.gcd.reduce(np.abs(q).ravel())) if q.size else 0
    return q // g if g > 1 else q


def collapse_lineups(lineups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct lineups (driver order inside a row ignored) and how many times each occurs."""
    L = np.sort(np.asarray(lineups, dtype=np.int64), axis=1)
    if L.shape[0] == 0:
        return L, np.zeros(0, dtype=np.int64)
    distinct, counts = np.unique(L, axis=0, return_counts=True)
    return distinct, counts.astype(np.int64)


def usable_cores() -> int:
    """CPUs this process may run on (affinity / cpuset aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _score_bounds(pts: np.ndarray, R: int, distinct_drivers: bool):
    """Per scenario: the least and greatest score any lineup of R drivers can have, and the least
    and greatest partial sum of its drivers' points (for the float32 exactness check)."""
    if distinct_drivers:
        srt = np.sort(pts, axis=1)
        low, high = srt[:, :R], srt[:, -R:]
    else:  # a driver may repeat inside a lineup: R times the extreme
        low = np.repeat(pts.min(axis=1, keepdims=True), R, axis=1)
        high = np.repeat(pts.max(axis=1, keepdims=True), R, axis=1)
    lo, hi = low.sum(axis=1), high.sum(axis=1)
    partial_lo = np.minimum(low, 0).sum(axis=1)
    partial_hi = np.maximum(high, 0).sum(axis=1)
    return lo, hi, partial_lo, partial_hi


def stream_ranks(
    points,
    ours,
    field,
    *,
    max_field_scores: int | None = None,
    workers: int | None = None,
    work_bytes_per_worker: int = WORK_BYTES_PER_WORKER,
) -> tuple[np.ndarray, np.ndarray]:
    """(better, tied), each (S, N) int64, for our lineups among field + ours in every scenario.

    points: (S, D) fantasy points; ours: (N, R) and field: (F, R) driver indices.
    max_field_scores: at most this many field scores held at once, all workers together (the old
    `chunk_elems`); None: sized from `work_bytes_per_worker`. workers: threads (default: the usable
    cores, at most 2 beyond which memory bandwidth, not cores, limits).
    """
    pts = integer_points(points)
    S, D = pts.shape
    ours = np.asarray(ours, dtype=np.int64)
    field = np.asarray(field, dtype=np.int64)
    N, R = ours.shape
    if field.size and field.shape[1] != R:
        raise ValueError(f"field lineups have {field.shape[1]} drivers, ours {R}")
    distinct, counts = collapse_lineups(field.reshape(-1, R))
    U = distinct.shape[0]
    better = np.empty((S, N), dtype=np.int64)
    tied = np.empty((S, N), dtype=np.int64)
    if S == 0 or N == 0:
        return better, tied

    every = np.concatenate([distinct, ours]) if U else ours
    distinct_drivers = bool(np.all(np.diff(np.sort(every, axis=1), axis=1) > 0)) if R > 1 else True
    lo, hi, partial_lo, partial_hi = _score_bounds(pts, R, distinct_drivers)
    span = hi - lo + 1
    # float32 exactness: every partial sum of the product stays an integer below 2**24 if the
    # chunk's bins plus the widest partial range stay under 2**23 (see the module notes)
    slack = int((partial_hi - partial_lo).max()) + 2
    span_max = int(span.max())
    use_hist = span_max <= _MAX_BINS_PER_SCENARIO and span_max + slack < _MAGIC

    n_workers = max(1, min(workers or min(2, usable_cores()), S))
    per_row = (U * (4 + 8 + 8) + 16 * span_max) if use_hist else (U + N) * 32
    rows = max(1, work_bytes_per_worker // max(per_row, 1))
    if max_field_scores is not None:
        rows = min(rows, max(1, max_field_scores // max(U * n_workers, 1)))
    if use_hist:
        rows = min(rows, max(1, (_MAGIC - slack) // span_max))
    rows = min(rows, -(-S // n_workers))  # every worker gets a share

    if use_hist:
        A = np.zeros((D + 1, U), dtype=np.float32)  # 0/1 incidence plus a row of ones (offset)
        A[distinct.T, np.arange(U)[None, :]] = 1.0
        A[D] = 1.0
        weights = None
        if U and counts.max() > 1:
            weights = np.tile(counts.astype(np.float64), rows)  # shared, read-only

        def work(s0: int, s1: int) -> None:
            _hist_chunk(pts, s0, s1, A, weights, ours, lo, span, better, tied)

    else:
        A64 = np.zeros((D, U), dtype=np.float64)
        A64[distinct.T, np.arange(U)[None, :]] = 1.0
        if float(np.abs(pts).max(initial=0)) * R >= 2.0**52:
            raise ValueError("points too large to score exactly")

        def work(s0: int, s1: int) -> None:
            _sorted_chunk(pts, s0, s1, A64, counts, ours, better, tied)

    def work_chunks(first: int) -> None:
        # worker `first` takes chunks first, first + n_workers, ...; each worker one BLAS thread
        with single_blas_thread():
            for s0 in range(first * rows, S, rows * n_workers):
                work(s0, min(S, s0 + rows))

    if n_workers == 1:
        work_chunks(0)
    else:
        with ThreadPoolExecutor(n_workers, thread_name_prefix="contest") as pool:
            for f in [pool.submit(work_chunks, k) for k in range(n_workers)]:
                f.result()
    return better, tied


def _hist_chunk(pts, s0, s1, A, weights, ours, lo, span, better, tied) -> None:
    """Histogram counting for scenarios s0..s1 (writes their rows of better and tied)."""
    n, N = s1 - s0, ours.shape[0]
    D, U = A.shape[0] - 1, A.shape[1]
    sp = span[s0:s1]
    off = np.zeros(n, dtype=np.int64)
    np.cumsum(sp[:-1], out=off[1:])
    # bin of a score x in scenario s: x + base[s]; scenario s fills bins off[s] + 1 .. off[s] +
    # sp[s], so bin 0 stays empty and `bin - 1` is always a valid index
    n_bins = int(off[-1] + sp[-1]) + 1
    base = off - lo[s0:s1] + 1
    our_bins = pts[s0:s1][:, ours].sum(axis=2) + base[:, None]  # (n, N) exact int64
    # our lineups among themselves: a flat sort serves every scenario (bins never overlap)
    flat = np.sort(our_bins.ravel())
    left = np.searchsorted(flat, our_bins, "left")
    right = np.searchsorted(flat, our_bins, "right")
    b = ((np.arange(1, n + 1) * N)[:, None] - right).astype(np.int64)
    t = (right - left).astype(np.int64)
    if U:
        X = np.empty((n, D + 1), dtype=np.float32)
        X[:, :D] = pts[s0:s1]
        X[:, D] = base + _MAGIC
        bits = (X @ A).view(np.int32)  # (n, U), exact, see module notes
        bins = np.subtract(bits, _MAGIC_BITS, dtype=np.intp).ravel()
        del bits
        w = None if weights is None else weights[: n * U]
        # at_most[k]: field entries in bins <= k (flat over the chunk's scenarios)
        at_most = np.bincount(bins, weights=w, minlength=n_bins)
        del bins
        np.cumsum(at_most, out=at_most)
        last = (off + sp)[:, None]
        b += (at_most[last] - at_most[our_bins]).astype(np.int64)
        t += (at_most[our_bins] - at_most[our_bins - 1]).astype(np.int64)
    better[s0:s1] = b
    tied[s0:s1] = t


def _sorted_chunk(pts, s0, s1, A64, counts, ours, better, tied) -> None:
    """Sorting per scenario (score ranges too wide for a histogram), exact in float64."""
    fs = pts[s0:s1].astype(np.float64) @ A64  # (n, U)
    os_ = pts[s0:s1][:, ours].sum(axis=2).astype(np.float64)  # (n, N)
    w = np.concatenate([counts, np.ones(os_.shape[1], dtype=np.int64)])
    total = int(w.sum())
    for i in range(s1 - s0):
        scores = np.concatenate([fs[i], os_[i]])
        order = np.argsort(scores, kind="stable")
        srt = scores[order]
        cw = np.concatenate([[0], np.cumsum(w[order])])
        left = np.searchsorted(srt, os_[i], "left")
        right = np.searchsorted(srt, os_[i], "right")
        better[s0 + i] = total - cw[right]
        tied[s0 + i] = cw[right] - cw[left]
