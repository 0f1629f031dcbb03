"""Run an ASGI app factory with uvicorn (default) or granian (optional), the one way the CLI
(`nascar-pipeline api`), the Helm chart and benchmarks/bench_api.py serve the API.

    python -m api.serve [--server uvicorn|granian] [--workers N] [--loop auto|asyncio|uvloop]
                        [--host H] [--port P] [--target module:factory]

Why these defaults (measured; benchmarks/bench_api.py):
- uvicorn on the asyncio loop, not uvloop: libuv (uvloop >= 0.18 bundles libuv >= 1.45)
  accepts ONE connection per event-loop iteration (libuv PR #3696). Under load an iteration
  serves every ready request first, so a burst of new connections (a load balancer's pool
  opening, a restart, wrk's 100 connections) waited seconds in the kernel's accept queue:
  that was the benchmark's p99 of 1.4 s at 100 connections. asyncio's selector loop accepts
  every pending connection (up to the backlog) per wake-up; it is as fast as uvloop for this
  app (the time goes into the app, httptools and the kernel, not the loop).
- granian (a Rust HTTP server: `pip install granian`) accepts in Rust and parses HTTP there;
  optional, for those who want it. The app factory is plain ASGI either way.
- workers: 1. More processes help only with spare cores; each has its own caches and, unless
  API_RATE_LIMIT_DSN names a shared PostgreSQL store, its own rate limiter (a principal's limit
  is then per process). With uvicorn, each worker binds its own
  listening socket with SO_REUSEPORT, so the kernel spreads new connections evenly over the
  workers: with one shared socket and the asyncio loop, the first worker to wake accepts every
  pending connection (a client's whole pool lands on one process). A worker that exits stops
  the others (the supervisor, e.g. Kubernetes, restarts the server).
"""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass

SERVERS = ("uvicorn", "granian")
LOOPS = ("auto", "asyncio", "uvloop")
DEFAULT_TARGET = "api.app:create_app"


@dataclass(frozen=True)
class ServerLimits:
    """What a connection may cost (the defaults are ApiSettings' API_MAX_HEADER_BYTES,
    API_HEADER_TIMEOUT_S, API_KEEP_ALIVE_S, API_LIMIT_CONCURRENCY):
    - max_header_bytes: a larger request line + headers gets 431 (uvicorn: api/http_limits.py on
      httptools, h11_max_incomplete_event_size on h11; granian: HTTP/1 max_buffer_size);
    - header_timeout_s: a connection that has not sent a request's head within it is closed
      (uvicorn: api/http_limits.py; granian: header_read_timeout);
    - keep_alive_s: an idle keep-alive connection is closed after it (uvicorn);
    - limit_concurrency: connections + tasks per worker beyond which uvicorn answers 503
      (granian: backpressure)."""

    max_header_bytes: int = 32768
    header_timeout_s: float = 10.0
    keep_alive_s: int = 5
    limit_concurrency: int | None = 1024

    @classmethod
    def from_settings(cls, settings) -> ServerLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout_s=settings.header_timeout_s,
            keep_alive_s=settings.keep_alive_s,
            limit_concurrency=settings.limit_concurrency,
        )


def granian_available() -> bool:
    try:
        import granian  # noqa: F401
    except ImportError:
        return False
    return True


def serve(
    target: str = DEFAULT_TARGET,
    *,
    factory: bool = True,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    server: str = "uvicorn",
    loop: str = "asyncio",
    log_level: str = "info",
    backlog: int = 2048,
    limits: ServerLimits | None = None,
) -> None:
    """Serve `target` (module:callable) until stopped."""
    workers = max(1, workers)
    limits = limits or ServerLimits()
    if server == "granian":
        if not granian_available():
            raise RuntimeError("--server granian needs the granian package (pip install granian)")
        from granian import Granian
        from granian.constants import Interfaces, Loops
        from granian.http import HTTP1Settings

        http1 = HTTP1Settings(
            header_read_timeout=int(limits.header_timeout_s * 1000),
            max_buffer_size=max(8192, limits.max_header_bytes),
        )
        Granian(
            target,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=factory,
            loop=Loops(loop),
            log_level=_granian_level(log_level),
            log_access=False,
            backlog=backlog,
            http1_settings=http1,
            **({"backpressure": limits.limit_concurrency} if limits.limit_concurrency else {}),
        ).serve()
        return
    if server != "uvicorn":
        raise ValueError(f"unknown server {server!r}; expected one of {SERVERS}")
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        import uvicorn

        uvicorn.run(
            target,
            workers=workers,
            **_uvicorn_options(factory, host, port, loop, log_level, backlog, limits),
        )
        return
    _supervise(target, factory, host, port, workers, loop, log_level, backlog, limits)


def _uvicorn_options(factory, host, port, loop, log_level, backlog, limits: ServerLimits) -> dict:
    if _has("httptools"):
        from api.http_limits import limited_protocol

        http = limited_protocol(limits.max_header_bytes, limits.header_timeout_s)
    else:
        http = "h11"  # h11 bounds the head itself (h11_max_incomplete_event_size)
    return dict(
        factory=factory,
        host=host,
        port=port,
        loop=loop,
        http=http,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=limits.keep_alive_s,
        limit_concurrency=limits.limit_concurrency,
        log_level=log_level.lower(),
        access_log=False,
        proxy_headers=False,
        server_header=False,
        backlog=backlog,
    )


def _worker(target, factory, host, port, loop, log_level, backlog, limits) -> None:
    """One uvicorn worker on its own SO_REUSEPORT socket (a child process of _supervise)."""
    import uvicorn

    _die_with_parent()
    family, kind, proto, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(addr)
    sock.set_inheritable(True)
    config = uvicorn.Config(
        target, **_uvicorn_options(factory, host, port, loop, log_level, backlog, limits)
    )
    uvicorn.Server(config).run(sockets=[sock])


def _die_with_parent() -> None:
    """Linux: SIGTERM this worker if the supervisor dies (even by SIGKILL), so no orphan keeps
    the port."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _supervise(target, factory, host, port, workers, loop, log_level, backlog, limits) -> None:
    """Start `workers` processes; on SIGTERM/SIGINT stop them (each shuts down gracefully);
    when one exits, stop the rest and exit non-zero."""
    import multiprocessing as mp
    import signal
    import sys
    import threading

    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(
            target=_worker,
            name=f"api-worker-{i}",
            args=(target, factory, host, port, loop, log_level, backlog, limits),
        )
        for i in range(workers)
    ]
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for p in procs:
            p.start()
        while not stop.wait(0.5):
            if any(not p.is_alive() for p in procs):
                break
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not stop.is_set():
        sys.exit(1)


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _granian_level(level: str):
    from granian.log import LogLevels

    level = level.lower()
    return LogLevels(level if level in {m.value for m in LogLevels} else "info")


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=int,
        default=os.environ.get("API_WORKERS", "1"),
        help="worker processes (default API_WORKERS or 1; caches are per process, rate limits "
        "too unless API_RATE_LIMIT_DSN is set)",
    )
    p.add_argument(
        "--server",
        choices=SERVERS,
        default=os.environ.get("API_SERVER", "uvicorn"),
        help="ASGI server (default API_SERVER or uvicorn; granian is optional)",
    )
    p.add_argument(
        "--loop",
        choices=LOOPS,
        default=os.environ.get("API_LOOP", "asyncio"),
        help="event loop (default API_LOOP or asyncio: it accepts every pending "
        "connection at once, uvloop one per loop iteration)",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default=DEFAULT_TARGET, help="module:callable")
    ap.add_argument("--no-factory", action="store_true", help="the target is an app, not a factory")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--log-level", default="warning")
    add_server_arguments(ap)
    a = ap.parse_args(argv)
    from api.settings import ApiSettings

    serve(
        a.target,
        factory=not a.no_factory,
        host=a.host,
        port=a.port,
        workers=a.workers,
        server=a.server,
        loop=a.loop,
        log_level=a.log_level,
        limits=ServerLimits.from_settings(ApiSettings()),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
