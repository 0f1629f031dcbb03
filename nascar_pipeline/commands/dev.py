"""`nascar-pipeline dev`: the Dagster UI, the daemon (and the API when it exists) on the embedded
default, with no services to install.

    nascar-pipeline dev [--port 3000] [--api-port 8000] [--grpc-port 4266] [--no-seed]

- DAGSTER_HOME defaults to <NASCAR_PIPELINE_HOME>/dagster with a local dagster.yaml: Dagster's
  local SQLite storage (not the production Postgres file at the repo root), the same run queue,
  concurrency, run monitoring and retry settings, and the pool limits of automation/pools.py.
- Seeds the demo world first when there is none (`nascar-pipeline seed-demo`).
- With DAGSTER_HOME set: writes the same local dagster.yaml there when it has none, and refuses
  (naming what is missing) one without run monitoring, run retries, the run queue or pools at
  run granularity (automation/local_instance.py).
- Serves the code location as its own gRPC server, so webserver and daemon share it and no
  code-server child is orphaned; Ctrl-C, SIGTERM or SIGHUP stop every child process group
  (code server with its run workers, daemon, webserver, API).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def prepare_local_dagster_home(home: Path | None = None) -> Path:
    """<NASCAR_PIPELINE_HOME>/dagster (or `home`) with the local dagster.yaml, written once and
    kept if edited (automation/local_instance.py)."""
    from nascar_pipeline.automation.local_instance import default_local_home, write_local_config

    return write_local_config(Path(home) if home else default_local_home())


def write_workspace(folder: Path, grpc_port: int, location: str = "nascar_pipeline") -> Path:
    path = folder / "workspace.yaml"
    path.write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {grpc_port}\n      location_name: {location}\n"
    )
    return path


def register(sub) -> None:
    p = sub.add_parser("dev", help="start the Dagster UI + daemon (+ API) on the embedded default")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    p.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    p.add_argument("--grpc-port", type=int, default=4266, help="code server port (default 4266)")
    p.add_argument("--no-seed", action="store_true", help="do not seed the demo world")
    p.set_defaults(func=run)


def _bin(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    return str(exe) if exe.exists() else name


def _api_target() -> list[str] | None:
    try:
        import importlib

        mod = importlib.import_module("api.app")
    except Exception:  # noqa: BLE001 - the API is optional here
        return None
    if hasattr(mod, "create_app"):
        return ["api.app:create_app", "--factory"]
    if hasattr(mod, "app"):
        return ["api.app:app"]
    return None


def _wait_http(url: str, timeout: float, procs: list[subprocess.Popen]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except OSError:
            time.sleep(0.5)
    return False


def _wait_grpc(port: int, timeout: float, proc: subprocess.Popen) -> bool:
    """The code server binds its port only once it has loaded the definitions."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def start_stack(
    env: dict[str, str],
    workspace: Path,
    host: str,
    port: int,
    grpc_port: int,
    api_port: int | None,
    log_dir: Path,
    *,
    daemon: bool = True,
    webserver: bool = True,
    module: str = "nascar_pipeline.definitions",
    procs: dict[str, subprocess.Popen] | None = None,
) -> dict[str, subprocess.Popen]:
    """Start the code server (our own gRPC server), then the daemon and the webserver against
    it (and the API); returns name -> process. Each runs in its own session (process group), so
    stop_stack ends it with its children (run workers are children of the code server).
    `procs`, when given, is filled as processes start, so a caller interrupted during the start
    still knows what to stop."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {} if procs is None else procs

    def spawn(name: str, cmd: list[str]) -> subprocess.Popen:
        with open(log_dir / f"{name}.log", "ab") as log:
            procs[name] = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return procs[name]

    grpc = spawn(
        "code-server",
        [
            _bin("dagster"),
            "api",
            "grpc",
            "-m",
            module,
            "-h",
            "127.0.0.1",
            "-p",
            str(grpc_port),
            "--location-name",
            "nascar_pipeline",
        ],
    )
    if not _wait_grpc(grpc_port, 180, grpc):
        stop_stack(procs)
        raise RuntimeError(f"the code server did not start; see {log_dir / 'code-server.log'}")
    if daemon:
        spawn("daemon", [_bin("dagster-daemon"), "run", "-w", str(workspace)])
    if webserver:
        spawn(
            "webserver",
            [_bin("dagster-webserver"), "-w", str(workspace), "-h", host, "-p", str(port)],
        )
    api = _api_target() if api_port else None
    if api:
        spawn("api", [_bin("uvicorn"), *api, "--host", host, "--port", str(api_port)])
    return procs


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop_stack(procs: dict[str, subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM each process group we started (the process and whatever it started: run
    workers, a webserver's code server), wait up to `timeout` for the groups to empty, then
    SIGKILL what is left of them."""
    for p in procs.values():
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for p in procs.values():
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    while time.monotonic() < deadline and any(_group_alive(p.pid) for p in procs.values()):
        time.sleep(0.2)
    for p in procs.values():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


class _Stop(Exception):
    """SIGTERM / SIGHUP received: leave the main loop through its `finally`."""


def _raise_stop(signum, _frame):
    raise _Stop(signal.Signals(signum).name)


def run(args) -> int:
    from nascar_pipeline.automation.local_instance import (
        IncompleteInstanceConfig,
        prepare_dagster_home,
    )
    from nascar_pipeline.errors import UserInputError
    from nascar_pipeline.settings import get_settings

    settings = get_settings()
    try:
        # The user's DAGSTER_HOME gets the local dagster.yaml when it has none; one that lacks
        # monitoring, retries, the queue or pools is refused rather than run half-configured.
        home = prepare_dagster_home()
    except IncompleteInstanceConfig as exc:
        raise UserInputError(str(exc)) from None
    # The children inherit this process's environment, with the Dagster home made explicit.
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    procs: dict[str, subprocess.Popen] = {}
    # SIGTERM (systemd, docker stop, kill) and SIGHUP (terminal closed) stop the children as
    # Ctrl-C does; by default they would end this process alone and orphan its children.
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if not args.no_seed and not settings.neo4j_configured:
            from nascar_pipeline.sources.embedded import world_exists

            if not world_exists(settings.world_dir):
                print(f"seeding the demo world into {settings.world_dir} ...", flush=True)
                subprocess.run([_bin("nascar-pipeline"), "seed-demo"], env=env, check=True)
        from dagster import DagsterInstance

        from nascar_pipeline.automation.pools import apply_pool_limits

        os.environ["DAGSTER_HOME"] = str(home)
        with DagsterInstance.get() as instance:
            limits = apply_pool_limits(instance)
        workspace = write_workspace(home, args.grpc_port)
        log_dir = settings.home / "logs"
        start_stack(
            env,
            workspace,
            args.host,
            args.port,
            args.grpc_port,
            args.api_port,
            log_dir,
            procs=procs,
        )
        ui = f"http://{args.host}:{args.port}"
        ok = _wait_http(f"{ui}/server_info", 120, list(procs.values()))
        print(f"Dagster UI      {ui}" + ("" if ok else "  (not answering yet; see logs)"))
        print(f"Asset graph     {ui}/asset-groups")
        if "api" in procs:
            print(f"API             http://{args.host}:{args.api_port}/docs")
        print(f"DAGSTER_HOME    {home}")
        print(f"pools           {', '.join(f'{k}={v}' for k, v in limits.items())}")
        print(f"logs            {log_dir}/{{code-server,daemon,webserver}}.log")
        print("Ctrl-C (or SIGTERM) stops everything.", flush=True)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited; see {log_dir}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        # Children first, with further signals ignored so a second Ctrl-C cannot cut this short.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        try:
            stop_stack(procs)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for s, handler in previous.items():
                signal.signal(s, handler)
