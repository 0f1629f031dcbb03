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
    monkeypatch.setattr(jax_setup, "_default_folder", jax_setup._default_folder)
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


def test_without_a_folder_nothing_is_decided(fresh, monkeypatch, tmp_path):
    monkeypatch.setattr(jax_setup, "_default_folder", None)
    assert jax_setup.enable_compilation_cache() is None
    assert fresh == {}
    assert jax_setup.enable_compilation_cache(tmp_path) == str(tmp_path)


def test_transition_default_is_the_settings_folder(fresh, monkeypatch, tmp_path):
    """Importing nascar_pipeline.settings registers its folder for core's argument-less calls
    (core itself never imports settings)."""
    import nascar_pipeline.settings  # noqa: F401  (registers the default)

    monkeypatch.setenv("NASCAR_JAX_CACHE", str(tmp_path / "from-settings"))
    assert jax_setup.enable_compilation_cache() == str(tmp_path / "from-settings")


def test_core_reads_no_environment():
    assert environment_reads(open(jax_setup.__file__).read()) == []
