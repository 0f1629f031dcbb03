"""A terminal report of what the pipeline materialized for a race (read from storage only)."""

from __future__ import annotations

from nascar_pipeline.storage.layout import layout_from_env


def print_race_report(race_key: str) -> None:
    layout = layout_from_env()
    from nascar_pipeline.commands.build import fanduel_salaries

    manifest = layout.read_manifest(race_key)
    # FanDuel files on stand-in salaries are not uploadable: a DraftKings player needn't see them
    fanduel = fanduel_salaries(layout, race_key)
    print(f"\nrace {race_key}: storage root {layout.root_uri}")
    for asset, entry in manifest.items():
        print(
            f"  {asset:<24} {entry.rows:>8} rows  {layout.root_uri.rstrip('/')}/{entry.path}"
            f"  (written {entry.written_at}, run {str(entry.run_id)[:8]})"
        )
        for name, rel in entry.extra_files.items():
            if name.startswith("fanduel") and not fanduel:
                continue
            print(f"  {'':<24} {name:>13}  {layout.root_uri.rstrip('/')}/{rel}")
    if "driver_projections" in manifest:
        proj = layout.read_asset("driver_projections", race_key)
        cols = [
            c
            for c in [
                "driver_name",
                "salary",
                "dk_mean",
                "dk_p10",
                "dk_p90",
                "win_pct",
                "dnf_pct",
                "pts_per_1k",
            ]
            if c in proj.columns
        ]
        print("\ntop projections (DraftKings points):")
        print(proj[cols].head(10).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if "lineup_portfolio" in manifest:
        _print_portfolio(layout, race_key, manifest)


def _print_portfolio(layout, race_key: str, manifest) -> None:
    port = layout.read_asset("lineup_portfolio", race_key)
    names = sorted(c for c in port.columns if c.startswith("d") and c.endswith("_name"))
    view = port[["lineup_id"]].copy()
    view["drivers"] = port[names].astype(str).agg(", ".join, axis=1)
    view["salary"] = port["salary"]
    if "contest_simulation" in manifest:
        sim = layout.read_asset("contest_simulation", race_key)
        keep = [
            c
            for c in [
                "lineup_id",
                "contest_id",
                "roi",
                "honest_roi",
                "cash_pct",
                "win_pct",
                "top1_pct",
                "sim_duplicates",
            ]
            if c in sim.columns
        ]
        view = view.merge(sim[keep], on="lineup_id", how="left")
    print(
        f"\nportfolio ({len(view)} DraftKings lineups; ROI, cash/win/top-1 % simulated; "
        "honest_roi: the same lineups on scenarios perturbed by the model's error):"
    )
    print(view.to_string(index=False, max_colwidth=110, float_format=lambda v: f"{v:.3f}"))
    extras = manifest["lineup_portfolio"].extra_files
    if "draftkings.csv" in extras:
        print(f"\nDraftKings upload file: {layout.root_uri.rstrip('/')}/{extras['draftkings.csv']}")
