"""Run configs the tests share (no imports: harnesses that start subprocesses use them too)."""

# Run config of the DFS assets small enough for a test (seconds, not minutes): ops -> config.
FAST_DFS_OPS = {
    "ownership_projections": {"config": {}},
    "lineup_portfolio": {
        "config": {
            "n_lineups": 8,
            "mh_steps": 60,
            "mh_chains": 3,
            "mh_temps": 2,
            "field_size": 1500,
            "objective_scenarios": 300,
            "selection_scenarios": 300,
            "exact_candidates": 30,
        }
    },
    "contest_simulation": {"config": {"field_size": 1500}},
}
