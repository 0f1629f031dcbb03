"""race_asset's code_version: it changes when the asset's code, its run config or a core module
it names changes, and not otherwise."""

from dagster import Config

from nascar_pipeline.assets.race_asset import code_version


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


def test_code_version_follows_the_code():
    assert code_version(returns_one) == code_version(returns_one)
    assert code_version(returns_one) != code_version(returns_two)  # the function's source
    assert code_version(returns_one) != code_version(returns_one_large)  # its run config
    slate = code_version(returns_one, ["nascar_pipeline.core.slate"])
    assert slate != code_version(returns_one)  # the core modules it names
    assert slate != code_version(returns_one, ["nascar_pipeline.core.lineups"])
    assert code_version(returns_one, ["nascar_pipeline.core.model"])  # a package: all modules


def test_code_versions_of_the_real_assets_differ():
    from nascar_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    versions = {k: graph.get(k).code_version for k in graph.get_all_asset_keys()}
    assert all(v and len(v) == 12 for v in versions.values()), versions
    assert len(set(versions.values())) == len(versions)
