"""`nascar-pipeline dev`: a complete instance config wherever DAGSTER_HOME points, and no child
process left behind when it is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nascar_pipeline.cli import main
from tests.support.services.postgres import free_port


@pytest.fixture
def pipeline_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NASCAR_PIPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STORAGE_ROOT", str(tmp_path / "storage"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("NEO4J_URI", raising=False)
    return tmp_path


def test_user_dagster_home_without_yaml_gets_the_complete_local_config(pipeline_home, monkeypatch):
    from dagster import DagsterInstance

    from nascar_pipeline.automation.local_instance import missing_settings, prepare_dagster_home

    home = pipeline_home / "my-dagster"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert prepare_dagster_home() == home
    cfg = yaml.safe_load((home / "dagster.yaml").read_text())
    assert cfg["concurrency"]["pools"]["granularity"] == "run"
    with DagsterInstance.from_config(str(home)) as instance:
        assert missing_settings(instance) == []
        assert instance.run_monitoring_enabled and instance.run_retries_enabled


def test_incomplete_user_yaml_is_refused_naming_what_it_lacks(pipeline_home, monkeypatch, capsys):
    home = pipeline_home / "my-dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_retries:\n  enabled: true\n"
        "concurrency:\n  pools:\n    default_limit: 1\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["dev", "--no-seed"]) == 2
    err = capsys.readouterr().err
    assert f"DAGSTER_HOME={home}" in err
    assert "run_monitoring: {enabled: true}" in err
    assert "granularity: run" in err
    assert "run_retries" not in err and "default_limit" not in err
    # The user's file is not touched.
    assert "run_monitoring" not in (home / "dagster.yaml").read_text()


def test_repo_dagster_yaml_is_complete():
    """The production instance satisfies the same check (parsed, not connected)."""
    repo_yaml = yaml.safe_load((Path(__file__).resolve().parents[2] / "dagster.yaml").read_text())
    assert repo_yaml["run_monitoring"]["enabled"] is True
    assert repo_yaml["run_retries"]["enabled"] is True
    assert repo_yaml["concurrency"]["pools"]["granularity"] == "run"
    assert repo_yaml["concurrency"]["pools"]["default_limit"] >= 1
    assert repo_yaml["run_coordinator"]["class"] == "QueuedRunCoordinator"


# ---- stopping -------------------------------------------------------------------------------


def _children(pid: int) -> dict[int, str]:
    """Every descendant of pid -> its command line (from /proc; psutil is not a dependency)."""
    kids: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = {}, [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            try:
                cmd = (Path("/proc") / str(c) / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            out[c] = cmd.decode(errors="replace").strip()
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_dev_stops_every_child_on_signal(pipeline_home, sig):
    """`dev` with a fresh DAGSTER_HOME and free ports: once its code server, daemon, webserver
    and API are up, SIGTERM (or Ctrl-C's SIGINT) ends all of them, and dev itself exits 0."""
    home = pipeline_home / "dagster-home"
    home.mkdir()
    ports = {n: free_port() for n in ("port", "api", "grpc")}
    env = {
        **os.environ,
        "NASCAR_PIPELINE_HOME": str(pipeline_home / "home"),
        "STORAGE_ROOT": str(pipeline_home / "storage"),
        "DAGSTER_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("NEO4J_URI", None)
    cmd = [
        str(Path(sys.executable).with_name("nascar-pipeline")),
        "dev",
        "--no-seed",
        "--port",
        str(ports["port"]),
        "--api-port",
        str(ports["api"]),
        "--grpc-port",
        str(ports["grpc"]),
    ]
    out = pipeline_home / "dev.out"
    children: dict[int, str] = {}
    with open(out, "wb") as fh:
        dev = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while "stops everything" not in out.read_text(errors="replace"):
            assert dev.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(1)
        children = _children(dev.pid)
        names = " ".join(children.values())
        for what in ("api grpc", "dagster-daemon", "dagster-webserver", "uvicorn"):
            assert what in names, (what, children)
        assert (home / "dagster.yaml").exists()  # written into the user's DAGSTER_HOME

        t0 = time.monotonic()
        dev.send_signal(sig)
        # it stops in 4-5 s; the wait is generous for a machine running two suites at once
        assert dev.wait(timeout=120) == 0, out.read_text()
        left = {p: c for p, c in children.items() if _alive(p)}
        while left and time.monotonic() - t0 < 30:
            time.sleep(0.2)
            left = {p: c for p, c in left.items() if _alive(p)}
        assert not left, f"children still running after {sig.name}: {left}"
        print(f"{sig.name}: {len(children)} children gone {time.monotonic() - t0:.1f}s after")
    finally:
        if dev.poll() is None:
            dev.kill()
        for p in children:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_demo_prepares_the_same_complete_home(pipeline_home, monkeypatch):
    """`demo` records its run in the home `dev` serves, and never leaves a partial dagster.yaml
    in the user's DAGSTER_HOME (which `dev` would then refuse)."""
    from dagster import DagsterInstance

    from nascar_pipeline.automation.local_instance import missing_settings
    from nascar_pipeline.commands.demo import _prepare_home

    _prepare_home()
    assert os.environ["DAGSTER_HOME"] == str(pipeline_home / "home" / "dagster")
    user_home = pipeline_home / "user-dagster"
    user_home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(user_home))
    _prepare_home()
    with DagsterInstance.from_config(str(user_home)) as instance:
        assert missing_settings(instance) == []
