"""A terminal report of what the pipeline materialized for a race (read from storage only)."""
from __future__ import annotations

from nascar_pipeline.storage.layout import layout_from_env


def print_race_report(race_key: str) -> None:
    layout = layout_from_env()
    manifest = layout.read_manifest(race_key)
    print(f"\nrace {race_key}: storage root {layout.root_uri}")
    for asset, entry in manifest.items():
        print(f"  {asset:<24} {entry.rows:>8} rows  {layout.root_uri.rstrip('/')}/{entry.path}"
              f"  (written {entry.written_at}, run {str(entry.run_id)[:8]})")
        for name, rel in entry.extra_files.items():
            print(f"  {'':<24} {name:>13}  {layout.root_uri.rstrip('/')}/{rel}")
    if "driver_projections" in manifest:
        proj = layout.read_asset("driver_projections", race_key)
        cols = [c for c in ["driver_name", "salary", "dk_mean", "dk_p10", "dk_p90", "win_pct",
                            "dnf_pct", "pts_per_1k"] if c in proj.columns]
        print("\ntop projections (DraftKings points):")
        print(proj[cols].head(10).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if "lineup_portfolio" in manifest:
        port = layout.read_asset("lineup_portfolio", race_key)
        print("\nportfolio:")
        print(port.head(20).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if "contest_simulation" in manifest:
        sim = layout.read_asset("contest_simulation", race_key)
        print("\ncontest simulation:")
        print(sim.head(20).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
