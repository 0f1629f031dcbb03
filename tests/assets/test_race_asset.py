"""race_asset's code_version: it changes when the asset's code, its run config or a core module
it uses (imported directly or through another core module) changes, and not otherwise."""

import inspect

from dagster import Config

from nascar_pipeline.assets.race_asset import code_version, config_sources


class SmallConfig(Config):
    n: int = 1


class LargeConfig(Config):
    n: int = 2


def returns_one(config: SmallConfig):
    return 1


def returns_two(config: SmallConfig):
    return 2


def returns_one_large(config: LargeConfig):
    return 1


class SmallBase(Config):
    k: int = 1


class OnSmallBase(SmallBase):
    n: int = 1


def test_code_version_follows_the_code():
    assert code_version(returns_one) == code_version(returns_one)
    assert code_version(returns_one) != code_version(returns_two)  # the function's source
    assert code_version(returns_one) != code_version(returns_one_large)  # its run config
    # ... and the config classes it derives from (a default declared in a base), not dagster's
    sources = config_sources(OnSmallBase)
    assert sources == [inspect.getsource(OnSmallBase), inspect.getsource(SmallBase)]
    assert config_sources(int) == []
    slate = code_version(returns_one, ["nascar_pipeline.core.slate"])
    assert slate != code_version(returns_one)  # the core modules it names
    assert slate != code_version(returns_one, ["nascar_pipeline.core.lineups"])
    assert code_version(returns_one, ["nascar_pipeline.core.model"])  # a package: all modules


def test_core_modules_are_found_transitively_without_importing_them():
    import subprocess
    import sys

    from nascar_pipeline.assets.race_asset import _core_closure

    names = {f.name for f in _core_closure({"nascar_pipeline.core.lineup_search"})}
    # lineup_search imports lineups, which imports rules; it calls contest, optimize, portfolio
    assert {"lineup_search.py", "lineups.py", "rules.py", "contest.py", "portfolio.py"} <= names
    # the code versions are read from the files: loading the definitions imports no JAX
    probe = "import sys, nascar_pipeline.definitions; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_code_versions_of_the_real_assets_differ():
    from nascar_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    versions = {k: graph.get(k).code_version for k in graph.get_all_asset_keys()}
    assert all(v and len(v) == 12 for v in versions.values()), versions
    assert len(set(versions.values())) == len(versions)
