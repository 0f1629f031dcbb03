"""The Dagster UI, as an operator sees it: a headless Chromium (Debian's `chromium` package)
opens the asset graph served by `dagster-webserver` (code location as its own gRPC server, as in
`nascar-pipeline dev`) and finds the race assets. The screenshot is saved to
artifacts/dagster-ui-asset-graph.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.services.postgres import free_port

pytestmark = pytest.mark.browser  # starts dagster-webserver and Chromium: not in the fast target

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1600,1000",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browse(browser: str, url: str, profile: Path, *extra: str, budget_ms: int = 25000) -> str:
    out = subprocess.run(
        [
            browser,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return out.stdout


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    from nascar_pipeline.commands.dev import (
        _wait_http,
        prepare_local_dagster_home,
        start_stack,
        stop_stack,
        write_workspace,
    )
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    base = tmp_path_factory.mktemp("ui")
    write_world(generate_world(seed=3, seasons=1), base / "world")
    home = prepare_local_dagster_home(base / "dagster")  # the embedded default
    grpc_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NASCAR_PIPELINE_HOME": str(base),
        "NASCAR_WORLD_DIR": str(base / "world"),
        "STORAGE_ROOT": str(base / "storage"),
    }
    env.pop("NEO4J_URI", None)
    procs = start_stack(
        env,
        write_workspace(home, grpc_port),
        "127.0.0.1",
        port,
        grpc_port,
        None,
        base / "logs",
        daemon=False,
        webserver=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert _wait_http(f"{url}/server_info", 180, list(procs.values())), (
            base / "logs" / "webserver.log"
        ).read_text()[-3000:]
        yield url
    finally:
        stop_stack(procs)


def test_asset_graph_in_headless_chromium(webserver, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from nascar_pipeline.definitions import defs

    # The webserver itself knows the race assets (GraphQL), before any browser is involved.
    query = b'{"query": "{ assetNodes { assetKey { path } groupName } }"}'
    req = urllib.request.Request(
        f"{webserver}/graphql", data=query, headers={"Content-Type": "application/json"}
    )
    body = urllib.request.urlopen(req, timeout=60).read().decode()
    job_assets = {
        k.path[-1] for k in defs.resolve_job_def("race_job").asset_layer.selected_asset_keys
    }
    for name in job_assets:
        assert name in body, f"{name} not served by the webserver"

    # Each group's page draws its asset graph with every asset by name (the global lineage and
    # the job page collapse groups when there are several). The UI is a single-page app: give
    # it (virtual) time to query and lay out; retry with more on a loaded machine.
    by_group: dict[str, set[str]] = {}
    repo = defs.get_repository_def()
    for key in defs.resolve_job_def("race_job").asset_layer.selected_asset_keys:
        by_group.setdefault(repo.asset_graph.get(key).group_name, set()).add(key.path[-1])
    ARTIFACTS.mkdir(exist_ok=True)
    for group, names in sorted(by_group.items()):
        url = f"{webserver}/locations/nascar_pipeline/asset-groups/{group}"
        missing = sorted(names)
        for attempt, budget in enumerate((30_000, 90_000)):
            dom = _browse(
                browser, url, tmp_path / f"{group}{attempt}", "--dump-dom", budget_ms=budget
            )
            missing = [n for n in sorted(names) if n not in dom]
            if not missing:
                break
        if missing:
            (ARTIFACTS / f"dagster-ui-{group}.html").write_text(dom)
        assert not missing, f"group {group}: graph lacks {missing}; see artifacts/"
    url = f"{webserver}/locations/nascar_pipeline/asset-groups/model"
    shot = ARTIFACTS / "dagster-ui-asset-graph.png"
    shot.unlink(missing_ok=True)
    _browse(browser, url, tmp_path / "shot", f"--screenshot={shot}", budget_ms=60_000)
    assert shot.exists() and shot.stat().st_size > 10_000, "no screenshot written"
