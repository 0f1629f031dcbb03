"""The jax_runtime resource sets JAX up before an asset's first JAX operation: a fresh process
(JAX's cache folder and CPU devices are process-wide) materializes an asset that compiles a
program, and the program lands in the folder NASCAR_JAX_CACHE names, as in a daemon's run
worker, a CLI run or a Kubernetes run pod (they all read that variable)."""

import json
import os
import subprocess
import sys
import textwrap

from nascar_pipeline.resources.jax_runtime import JaxRuntime, jax_runtime_resource
from nascar_pipeline.settings import get_settings

RUN = textwrap.dedent(
    """
    import json, sys
    from dagster import asset, materialize
    from nascar_pipeline.resources.storage import storage_resources
    from nascar_pipeline.resources.jax_runtime import JaxRuntime

    @asset
    def compiles(jax_runtime: JaxRuntime) -> int:
        import jax, jax.numpy as jnp
        jax.jit(lambda x: jnp.sin(x) * 3.0)(jnp.arange(7.0)).block_until_ready()
        return len(jax.devices("cpu"))

    resources = storage_resources(sys.argv[1])  # binds JaxRuntime(): the settings' folder
    resources["jax_runtime"] = resources["jax_runtime"].model_copy(update={"host_devices": 2})
    result = materialize([compiles], resources=resources)
    import jax
    print("RESULT " + json.dumps({
        "ok": result.success,
        "devices": result.output_for_node("compiles"),
        "cache_dir": jax.config.jax_compilation_cache_dir,
    }))
    """
)


def test_a_fresh_run_process_compiles_into_the_configured_folder(tmp_path, monkeypatch):
    cache = tmp_path / "jax-cache"
    env = {"NASCAR_JAX_CACHE": str(cache), "NASCAR_PIPELINE_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path / "storage")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
    assert line, proc.stderr[-3000:]
    result = json.loads(line[-1].removeprefix("RESULT "))
    assert result == {"ok": True, "devices": 2, "cache_dir": str(cache)}
    assert any(cache.iterdir()), "the compiled program was not written to the cache folder"


def test_definitions_bind_the_settings_folder_or_off(monkeypatch, tmp_path):
    monkeypatch.setenv("NASCAR_JAX_CACHE", str(tmp_path / "jax"))
    resource = jax_runtime_resource(get_settings())
    assert resource.cache_folder() == str(tmp_path / "jax")
    monkeypatch.setenv("NASCAR_JAX_CACHE", "off")
    assert jax_runtime_resource(get_settings()).cache_folder() is None
    # Unset in the resource: the settings of the process that runs it.
    monkeypatch.setenv("NASCAR_JAX_CACHE", str(tmp_path / "later"))
    assert JaxRuntime().cache_folder() == str(tmp_path / "later")
