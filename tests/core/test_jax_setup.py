"""core/jax_setup.py takes the compilation cache folder from its caller and reads no
environment; the first call decides for the process."""

from __future__ import annotations

import jax
import pytest

from nascar_pipeline.core import jax_setup
from tests.support.environment_reads import environment_reads


@pytest.fixture
def fresh(monkeypatch):
    """An undecided process whose jax.config.update calls are recorded, not applied."""
    updates: dict = {}
    monkeypatch.setattr(jax_setup, "_ENABLED", None)
    monkeypatch.setattr(jax.config, "update", lambda name, value: updates.__setitem__(name, value))
    return updates


def test_the_callers_folder_is_used_whatever_the_environment(fresh, monkeypatch, tmp_path):
    monkeypatch.setenv("NASCAR_JAX_CACHE", "off")
    folder = tmp_path / "jax"
    assert jax_setup.enable_compilation_cache(folder) == str(folder)
    assert folder.is_dir()
    assert fresh["jax_compilation_cache_dir"] == str(folder)
    assert fresh["jax_persistent_cache_min_compile_time_secs"] == 0.0
    # Decided: a later call (another folder, or off) gets the first decision.
    assert jax_setup.enable_compilation_cache(None) == str(folder)


def test_none_leaves_the_cache_off(fresh, monkeypatch, tmp_path):
    monkeypatch.setenv("NASCAR_JAX_CACHE", str(tmp_path / "from-env"))
    assert jax_setup.enable_compilation_cache(None) is None
    assert fresh == {}
    assert jax_setup.enable_compilation_cache(tmp_path) is None


def test_importing_settings_decides_nothing(fresh, monkeypatch, tmp_path):
    """The folder comes from the caller (the jax_runtime resource, a command): importing the
    settings registers no default any more."""
    import nascar_pipeline.settings  # noqa: F401

    monkeypatch.setenv("NASCAR_JAX_CACHE", str(tmp_path / "from-settings"))
    assert not hasattr(jax_setup, "set_default_folder")
    assert fresh == {}


def test_core_reads_no_environment():
    assert environment_reads(open(jax_setup.__file__).read()) == []


def test_usable_cores_follow_the_cgroup_quota(tmp_path, monkeypatch):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert jax_setup.cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert jax_setup.cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert jax_setup.cgroup_cpu_quota(tmp_path) == 3.0
    assert jax_setup.cgroup_cpu_quota(tmp_path / "absent") is None
    monkeypatch.setattr(jax_setup, "cgroup_cpu_quota", lambda: 1.0)
    assert jax_setup.usable_cores() == 1


def test_host_devices_after_jax_started_fall_back_with_a_reason(monkeypatch):
    """Once JAX's backends are up the device count cannot change: keep it and say why."""
    import jax

    jax.devices()  # start JAX
    monkeypatch.setattr(jax_setup, "_HOST_DEVICES", None)
    monkeypatch.setattr(jax_setup, "_HOST_DEVICES_REASON", "")
    have = len(jax.devices("cpu"))
    assert jax_setup.ensure_host_devices(have + 1) == have
    assert "before configure_jax" in jax_setup.host_devices_reason()
    assert jax_setup.ensure_host_devices(have + 5) == have  # decided
