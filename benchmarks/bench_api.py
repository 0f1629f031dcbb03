"""Benchmark: the API's portfolio endpoint against the same JSON served as a static file.

    .venv/bin/python benchmarks/bench_api.py [--duration 8] [--connections 1,10,100]
        [--rounds 3] [--server uvicorn|granian] [--loop asyncio|uvloop] [--workers N]

Starts, on loopback only: (1) the API as deployed (`python -m api.serve`, the function behind
`nascar-pipeline api`: uvicorn on the asyncio loop, one worker per CPU, each on its own
SO_REUSEPORT socket, unless told otherwise; JWT auth,
rate limit set out of the way, JSON request logs to a file, tracing on with no exporter) over a
temporary storage root holding one race's `lineup_portfolio` (150 lineups x 6 drivers, with
upload CSVs), written through the storage layout with its manifest entry; and (2) the same
server, with the same options, serving the API's exact response body as a static file
(Starlette StaticFiles). Then drives each with wrk (Debian's `wrk`; an aiohttp client when wrk
is absent) at 1, 10 and 100 concurrent keep-alive connections and prints p50/p99 latency and
requests/s side by side, with the API/static throughput ratio, plus wrk's p99.9 and maximum.

Targets: p99 <= 25 ms at 100 connections; throughput >= 50 % of the static baseline.
`--loop uvloop` reproduces the old tail: wrk opens its 100 connections at once and libuv
accepts one per loop iteration, so most wait 0.1-1.5 s in the accept queue (ss -ltn shows the
queue draining one by one) and p99 lands near 1.4 s. The CPU lines give the ceiling that the
other load on a shared machine does not move: cores / (server + client CPU per request).
Bounded: each run lasts --duration seconds; servers are stopped (by pid) on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
AUD, ISS = "bench", "bench-issuer"
RACE = "2027-daytona-daytona-500"


# ---- the static baseline app (imported by uvicorn in the second server) -------------------
def static_app():
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    return Starlette(routes=[Mount("/", app=StaticFiles(directory=os.environ["BENCH_STATIC_DIR"]))])


# ---- data -------------------------------------------------------------------------------------
def write_portfolio(root: str) -> None:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(REPO))
    from nascar_pipeline.storage.layout import StorageLayout

    layout = StorageLayout(root)
    rng = np.random.default_rng(1)
    rows = []
    for lid in range(150):
        for slot, d in enumerate(sorted(rng.choice(38, 6, replace=False))):
            rows.append(
                {
                    "lineup_id": lid,
                    "slot": slot,
                    "driver_id": 4000 + int(d),
                    "driver_name": f"Driver {int(d):02d}",
                    "dk_id": 3_300_000 + int(d),
                    "salary": int(4500 + 100 * ((d * 37) % 70)),
                    "dk_mean": float(rng.uniform(10, 60)),
                }
            )
    df = pd.DataFrame(rows)
    extras = {}
    for name in ("draftkings.csv", "fanduel.csv"):
        p = layout.extra_path("lineup_portfolio", RACE, name)
        layout.write_bytes_atomic(p, b"D,D,D,D,D,D\n" + b"1,2,3,4,5,6\n" * 150)
        extras[name] = layout.relative(p)
    path = layout.asset_path("lineup_portfolio", RACE)
    data, schema = layout.write_parquet(path, df)
    layout.record(
        asset="lineup_portfolio",
        race_key=RACE,
        path=path,
        data=data,
        schema=schema,
        rows=len(df),
        run_id="bench",
        code_version="bench",
        extra_files=extras,
    )


# ---- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    target: str,
    port: int,
    env: dict,
    log: Path,
    *,
    static: bool = False,
    workers: int = 1,
    server: str = "uvicorn",
    loop: str = "asyncio",
) -> subprocess.Popen:
    """`python -m api.serve`: the API and the static baseline run in the same server, with the
    same options."""
    cmd = [
        sys.executable,
        "-m",
        "api.serve",
        "--target",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--server",
        server,
        "--loop",
        loop,
        "--log-level",
        "warning",
    ]
    fh = open(log, "ab")
    proc = subprocess.Popen(
        cmd, env=env, stdout=fh, stderr=fh, cwd=str(REPO), start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/healthz"
                if not static
                else f"http://127.0.0.1:{port}/portfolio.json",
                timeout=1,
            )
            return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"server on {port} did not start; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and its worker processes (its own process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---- load generators --------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)]


_WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("TAIL p99.9=%dus max=%dus\\n", latency:percentile(99.9), latency.max))
end
"""


def run_wrk(url: str, conns: int, duration: int, headers: dict[str, str]) -> dict:
    script = Path(tempfile.gettempdir()) / "bench_api_tail.lua"
    if not script.exists():
        script.write_text(_WRK_LUA)
    cmd = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
    ]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 30).stdout
    dist = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m is None or "50" not in dist or "99" not in dist:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    rps = float(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    tail = re.search(r"TAIL p99.9=(\d+)us max=(\d+)us", out)
    return {
        "p50": _ms(dist["50"]),
        "p99": _ms(dist["99"]),
        "rps": rps,
        "p999": int(tail.group(1)) / 1000 if tail else float("nan"),
        "max": int(tail.group(2)) / 1000 if tail else float("nan"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1).strip() if errors else "",
    }


def run_aiohttp(url: str, conns: int, duration: int, headers: dict[str, str]) -> dict:
    import aiohttp

    lat: list[float] = []
    bad = 0

    async def worker(session, stop_at):
        nonlocal bad
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            async with session.get(url, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    bad += 1
            lat.append((time.perf_counter() - t0) * 1000)

    async def main():
        conn = aiohttp.TCPConnector(limit=conns)
        async with aiohttp.ClientSession(connector=conn) as s:
            stop_at = time.perf_counter() + duration
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(s, stop_at) for _ in range(conns)))
            return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    return {
        "p50": pick(0.5),
        "p99": pick(0.99),
        "rps": len(lat) / elapsed,
        "non2xx": bad,
        "p999": pick(0.999),
        "max": lat[-1],
        "errors": "",
    }


def _group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of every process in the process group (the server and its
    workers): Linux /proc, 0 elsewhere."""
    total = 0
    try:
        pids = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _measured(load, proc, url, conns, duration, headers) -> dict:
    """One load run, with the CPU the server and the load generator spent per request: the
    ceiling of a closed loop on these cores is about cores / (server + client CPU per request),
    whatever else runs on the machine."""
    import resource

    before = _group_cpu_s(proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = load(url, conns, duration, headers)
    after = _group_cpu_s(proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    n = max(1.0, out["rps"] * duration)
    out["server_us"] = 1e6 * (after[0] - before[0]) / n
    out["client_us"] = (
        1e6
        * ((after[1].ru_utime + after[1].ru_stime) - (before[1].ru_utime + before[1].ru_stime))
        / n
    )
    return out


def _server_durations(log: Path, offset: int) -> list[float]:
    """The API's own request durations (its JSON request log) written after `offset`: the
    time inside the app, middleware included, without the socket queueing wrk also sees."""
    import json

    out = []
    with open(log, "rb") as fh:
        fh.seek(offset)
        for line in fh:
            if b'"msg": "request"' in line and b"/portfolio" in line:
                try:
                    out.append(float(json.loads(line)["duration_ms"]))
                except (ValueError, KeyError):
                    pass
    return out


def _median(runs: list[dict]) -> dict:
    import statistics

    out = {
        k: statistics.median(r[k] for r in runs)
        for k in ("p50", "p99", "rps", "p999", "server_us", "client_us")
    }
    out["max"] = max(r["max"] for r in runs)
    out["non2xx"] = sum(r["non2xx"] for r in runs)
    out["errors"] = "; ".join(
        r["errors"]
        for r in runs
        if r["errors"] and r["errors"] != "connect 0, read 0, write 0, timeout 0"
    )
    return out


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=8, help="seconds per run (default 8)")
    ap.add_argument("--connections", default="1,10,100")
    ap.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    ap.add_argument(
        "--workers",
        type=int,
        default=_cpus(),
        help="worker processes for both servers (default: one per CPU, "
        f"{_cpus()} here, as `nascar-pipeline api --workers N` on a machine "
        "of its own)",
    )
    ap.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="ASGI server for both (default uvicorn; granian if installed)",
    )
    ap.add_argument(
        "--loop",
        choices=("asyncio", "uvloop", "auto"),
        default="asyncio",
        help="event loop for both (default asyncio, as `nascar-pipeline api`)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="API and static runs alternate this many times per level; the "
        "median of each figure is printed (noisy shared machines)",
    )
    args = ap.parse_args(argv)
    conns = [int(c) for c in args.connections.split(",")]
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "aiohttp"
    load = run_wrk if client == "wrk" else run_aiohttp

    import jwt

    token = jwt.encode(
        {"sub": "bench", "aud": AUD, "iss": ISS, "exp": int(time.time()) + 3600},
        SECRET,
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {token}"}
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    storage, static_dir = work / "storage", work / "static"
    static_dir.mkdir()
    write_portfolio(str(storage))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "OTEL_EXPORTER"))}
    env.update(
        {
            "STORAGE_ROOT": str(storage),
            "API_JWT_SECRET": SECRET,
            "API_JWT_AUDIENCE": AUD,
            "API_JWT_ISSUER": ISS,
            "API_RATE_LIMIT": "100000000/second",
            "API_LOG_LEVEL": "INFO",
            "BENCH_STATIC_DIR": str(static_dir),
            "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)]),
        }
    )
    opts = {"workers": args.workers, "server": args.server, "loop": args.loop}
    api_port, static_port = free_port(), free_port()
    procs = []
    try:
        procs.append(start_server("api.app:create_app", api_port, env, work / "api.log", **opts))
        api_url = f"http://127.0.0.1:{api_port}/v1/races/{RACE}/portfolio"
        req = urllib.request.Request(api_url, headers=headers)
        body = urllib.request.urlopen(req, timeout=10).read()
        (static_dir / "portfolio.json").write_bytes(body)
        procs.append(
            start_server(
                "bench_api:static_app", static_port, env, work / "static.log", static=True, **opts
            )
        )
        static_url = f"http://127.0.0.1:{static_port}/portfolio.json"
        # warm both (caches, JIT-free but allocator/page cache)
        load(api_url, 10, 1, headers)
        load(static_url, 10, 1, headers)

        print(
            f"server: {args.server}, loop {args.loop}, {args.workers} worker(s), for both; "
            f"portfolio body: {len(body):,} bytes; client: {client}; {args.rounds} x "
            f"{args.duration}s per level and server (medians); "
            f"cpus: {os.cpu_count()}; loadavg: {os.getloadavg()[0]:.2f}"
        )
        print(
            f"{'conns':>5} | {'API p50':>8} {'p99':>8} {'req/s':>8} | {'in-app p50':>8} "
            f"{'p99':>8} | {'static p50':>10} {'p99':>8} {'req/s':>8} | {'ratio':>6}"
        )
        results, tails, cpus = [], [], []
        for c in conns:
            runs_a, runs_s, server_ms = [], [], []
            for _ in range(max(1, args.rounds)):
                mark = (work / "api.log").stat().st_size
                runs_a.append(_measured(load, procs[0], api_url, c, args.duration, headers))
                server_ms += _server_durations(work / "api.log", mark)
                runs_s.append(_measured(load, procs[1], static_url, c, args.duration, headers))
            a, s = _median(runs_a), _median(runs_s)
            server_ms.sort()
            if server_ms:
                a["server"] = (
                    server_ms[len(server_ms) // 2],
                    server_ms[min(len(server_ms) - 1, int(len(server_ms) * 0.99))],
                )
            ratio = a["rps"] / s["rps"] if s["rps"] else float("nan")
            results.append((c, a, s, ratio))
            note = (
                ""
                if not (a["non2xx"] or a["errors"])
                else f"  (API non-2xx {a['non2xx']}, errors {a['errors']})"
            )
            srv = a.get("server")
            srv_txt = f"{srv[0]:>6.2f}ms {srv[1]:>6.2f}ms" if srv else f"{'-':>8} {'-':>8}"
            print(
                f"{c:>5} | {a['p50']:>6.2f}ms {a['p99']:>6.2f}ms {a['rps']:>8.0f} | {srv_txt} | "
                f"{s['p50']:>8.2f}ms {s['p99']:>6.2f}ms {s['rps']:>8.0f} | {ratio:>5.0%}{note}"
            )
            tails.append(
                f"{c:>5} | API p99 per round "
                + "/".join(f"{r['p99']:.1f}" for r in runs_a)
                + f" ms, p99.9 {a['p999']:.1f} ms, max {a['max']:.1f} ms | static max "
                f"{s['max']:.1f} ms | loadavg {os.getloadavg()[0]:.2f}"
            )
            cpus.append(
                f"{c:>5} | API server {a['server_us']:.0f} us/req, client "
                f"{a['client_us']:.0f} us/req | static server {s['server_us']:.0f} "
                f"us/req, client {s['client_us']:.0f} us/req"
            )
        print("tails (wrk):")
        for line in tails:
            print(line)
        print(
            "CPU per request (user + system; server: all its processes; client: the load "
            "generator; the aiohttp client's own CPU is not counted):"
        )
        for line in cpus:
            print(line)
        last = next((r for r in results if r[0] == 100), results[-1])
        ok_p99 = last[1]["p99"] <= 25.0
        ok_ratio = last[3] >= 0.5
        print(f"loadavg after: {os.getloadavg()[0]:.2f} (other processes share these cores)")
        # Closed loop: mean latency = connections / throughput (Little's law), so a p99 under
        # 25 ms at 100 connections needs more than 100 / 0.025 = 4,000 req/s.
        need = last[0] / 0.025
        print(
            f"Little's law: p99 <= 25 ms at {last[0]} connections needs > {need:,.0f} req/s; "
            f"measured {last[1]['rps']:,.0f} (API) and {last[2]['rps']:,.0f} (static)"
        )
        per = last[1]["server_us"] + last[1]["client_us"]
        if last[1]["server_us"] > 0:
            one = 1e6 / last[1]["server_us"]
            print(
                f"CPU ceiling at {last[0]} connections: the API process needs "
                f"{last[1]['server_us']:.0f} us per request, so one worker tops out near "
                f"{one:,.0f} req/s on a core of its own; server + load generator need "
                f"{per:.0f} us, so {os.cpu_count()} idle cores top out near "
                f"{os.cpu_count() * 1e6 / per:,.0f} req/s (with enough workers)"
            )
        print(
            f"targets at {last[0]} connections: p99 <= 25 ms: "
            f"{'met' if ok_p99 else 'MISSED'} ({last[1]['p99']:.2f} ms); throughput >= 50 % "
            f"of static: {'met' if ok_ratio else 'MISSED'} ({last[3]:.0%})"
        )
        return 0
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
