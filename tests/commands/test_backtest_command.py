"""`nascar-pipeline backtest`: the history CSVs default to NASCAR_SHARED_DATA/history (a setting,
not a guess at a sibling checkout); without either, a user error names both ways to fix it."""

from __future__ import annotations

from nascar_pipeline.cli import main


def test_history_defaults_to_the_shared_data_setting(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NASCAR_SHARED_DATA", str(tmp_path))
    assert main(["backtest", "--season", "2025"]) == 2
    assert f"file {tmp_path}/history/races.csv: not found" in capsys.readouterr().err


def test_without_files_or_setting_the_error_says_how(monkeypatch, capsys):
    monkeypatch.delenv("NASCAR_SHARED_DATA", raising=False)
    assert main(["backtest", "--season", "2025"]) == 2
    err = capsys.readouterr().err
    assert "--races-csv" in err and "NASCAR_SHARED_DATA" in err


def test_explicit_files_win_over_the_setting(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NASCAR_SHARED_DATA", str(tmp_path / "elsewhere"))
    races = tmp_path / "r.csv"
    rc = main(["backtest", "--season", "2025", "--races-csv", str(races), "--results-csv", "x"])
    assert rc == 2
    assert f"file {races}: not found" in capsys.readouterr().err


def test_report_lines_give_the_error_honest_roi_needs_and_say_why_no_money():
    import pandas as pd

    from nascar_pipeline.commands.backtest import report_lines

    table = pd.DataFrame(
        [
            {"method": "model", "rmse_dk": 24.07, "scenario_sd": 24.1, "excess_error_sd": 0.0},
            {"method": "uniform", "rmse_dk": 27.4, "scenario_sd": 23.2, "excess_error_sd": 14.7},
        ]
    )
    lines = report_lines(table)
    assert "RMSE 24.07 DK points" in lines[0] and "beyond the spread 0.00" in lines[0]
    assert any("no race of the season has real DraftKings salaries" in s for s in lines)
    graded = table.assign(
        money_races=[3, None],
        money_cash_rate=[0.2, None],
        money_best_cashed=[2 / 3, None],
        money_beat_winner=[0.0, None],
        own_mae_defaults=[12.5, None],
        own_mae_salary_only=[15.0, None],
    )
    lines = report_lines(graded)
    assert "money model: 3 races, lineups cashed 20%, best lineup cashed in 67% of races" in (
        " ".join(lines)
    )
    assert "ownership MAE vs real %Drafted: defaults 12.50, salary only 15.00" in lines


def test_real_slates_and_contests_reach_the_sonoma_race_week(shared_data):
    from nascar_pipeline.commands._backtest_inputs import (
        attach_contests,
        attach_slates,
        merge_tables,
    )
    from nascar_pipeline.core.backtest import contest_facts
    from nascar_pipeline.ontology.parsers.history import parse_history

    week = shared_data / "raceweek_2026_sonoma"
    t = parse_history(week / "races.csv", week / "results.csv")
    t, priced = attach_slates(t, shared_data / "draftkings" / "slates_2026.csv")
    t, contested = attach_contests(t, shared_data / "draftkings" / "contests_2026.csv")
    (key,) = priced
    assert contested == [key] and key.startswith("2026-sonoma")
    e = t.entries[t.entries["race_key"] == key]
    assert e["salary"].notna().all() and e["salary"].max() == 14000  # every starter priced
    facts = contest_facts(t.contests[t.contests["race_key"] == key])
    # the largest of the three Sonoma contests (3,567 entries)
    assert (facts["winning_score"], facts["cash_line"]) == (323.9, 235.0)
    merged = merge_tables(t, t)
    assert len(merged.entries) == len(t.entries)  # the same rows once


def test_loop_data_on_without_a_loop_file_says_how(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("NASCAR_SHARED_DATA", raising=False)
    for name in ("races.csv", "results.csv"):
        (tmp_path / name).write_text("")
    files = [
        "--races-csv",
        str(tmp_path / "races.csv"),
        "--results-csv",
        str(tmp_path / "results.csv"),
    ]
    assert main(["backtest", "--season", "2025", "--loop-data", "both", *files]) == 2
    assert "--loop-data both: no loop data" in capsys.readouterr().err
    missing = tmp_path / "loop.csv"
    assert main(["backtest", "--season", "2025", "--loop-csv", str(missing), *files]) == 2
    assert f"file {missing}: not found" in capsys.readouterr().err


def test_comparison_lines_put_the_model_beside_the_start_and_feature_baselines():
    import pandas as pd

    from nascar_pipeline.commands.backtest import comparison_lines

    table = pd.DataFrame(
        {
            "method": ["model", "model_loop", "start_position", "feature_pl"],
            "order_loglik_per_race": [-101.0, -100.5, -102.0, -100.8],
            "crps_dk": [13.0, 12.0, 14.0, 13.5],
            "cover50_pct": [55.0, 51.0, 50.0, 50.0],
            "cover90_pct": [91.0, 90.0, 90.0, 90.0],
        }
    )
    model, loop = comparison_lines(table)
    assert model.startswith("model: vs start_position: +1.00 nats/race, CRPS -7.1 %")
    assert "vs feature_pl: +0.30 nats/race, CRPS -11.1 %; coverage 50 % 51.0" in loop
    # beside each coverage, the randomized-PIT coverage and the interval's own mass
    discrete = table.assign(
        pit50_pct=[54.9, 51.0, 50.0, 50.0], pit90_pct=90.2, mass50_pct=52.4, mass90_pct=92.5
    )
    model = comparison_lines(discrete)[0]
    assert model.endswith(
        "coverage 50 % 55.0 (randomized PIT 54.9, own mass 52.4), "
        "90 % 91.0 (randomized PIT 90.2, own mass 92.5)"
    )


def test_projection_lines_put_every_method_beside_the_baselines():
    import pandas as pd

    from nascar_pipeline.commands.backtest import projection_lines

    table = pd.DataFrame(
        {
            "method": ["uniform", "model", "start_position"],
            "mae_dk": [24.5, 19.25, 21.0],
            "rank_corr_dk": [float("nan"), 0.3125, 0.25],
        }
    )
    head, model, uniform, start = projection_lines(table)
    assert "means over races" in head
    assert model.split() == ["model", "MAE", "19.25", "rank", "correlation", "+0.312"]
    assert uniform.split()[-1] == "n/a" and start.split()[0] == "start_position"
    assert projection_lines(table.drop(columns=["mae_dk", "rank_corr_dk"])) == []
    front = table.assign(
        front_row_proj_dk=[20.0, 31.5, 22.0],
        front_row_dk=40.0,
        winner_proj_dk=[20.0, 28.0, 21.0],
        winner_dk=55.0,
    )
    line = projection_lines(front)[1]  # the model
    assert "front row  31.5 (actual  40.0)  winner  28.0 (actual  55.0)" in line


def _resume(shared_data, tmp_path, method: str, folded: bool = True, extra=()) -> int:
    """`backtest --resume` over one kept per-race row of `method` (with the folded score
    column of the current scoring unless `folded` is False) on the shared history files."""
    import pandas as pd

    rows = {"race_key": ["x"], "method": [method], "order_loglik": [-100.0]}
    if folded:
        rows["order_loglik_folded"] = [-101.0]
    pd.DataFrame(rows).to_parquet(tmp_path / "bt_races.parquet")
    history = shared_data / "history"
    files = ["--races-csv", str(history / "races.csv"), "--results-csv"]
    files += [str(history / "results.csv"), "--loop-csv", str(history / "loopstats.csv")]
    out = tmp_path / "bt.parquet"
    return main(["backtest", "--season", "2025", "--resume", "--out", str(out), *files, *extra])


def test_resume_refuses_rows_scored_before_the_dnf_mixture(shared_data, tmp_path, capsys):
    """Per-race rows without order_loglik_folded were scored the old way: resuming would mix
    two scorings of the model's order in one season table."""
    assert _resume(shared_data, tmp_path, "model", folded=False) == 2
    assert "run without --resume" in capsys.readouterr().err


def test_gate_lines_count_the_races_whose_fit_passes_as_it_is():
    import pandas as pd

    from nascar_pipeline.commands.backtest import gate_lines

    per_race = pd.DataFrame(
        {
            "method": ["model", "model", "model", "start_position"],
            "rhat_max": [1.004, 1.02, 1.003, None],
            "ess_bulk_min": [700.0, 900.0, 385.0, None],
            "divergence_rate": [0.0, 0.0, 0.0, None],
            "fit_sim_seconds": [20.0, 30.0, 40.0, None],
        }
    )
    (line,) = gate_lines(per_race)
    assert line.startswith("convergence gate (model): 1 of 3 races pass without a re-fit")
    assert "R-hat max 1.0200, lowest bulk ESS 385" in line
    assert "30 s per race (max 40 s)" in line


def test_loop_data_auto_follows_the_loop_file():
    from nascar_pipeline.commands.backtest import loop_modes

    assert loop_modes("auto", "loopstats.csv") == (True,)
    assert loop_modes("auto", None) == (False,)
    assert loop_modes("both", "loopstats.csv") == (False, True)


def test_gate_lines_read_rows_without_the_divergence_column_as_no_divergences():
    import pandas as pd

    from nascar_pipeline.commands.backtest import gate_lines

    old = pd.DataFrame({"method": ["model"], "rhat_max": [1.004], "ess_bulk_min": [700.0]})
    new = pd.DataFrame(
        {"method": ["model"], "rhat_max": [1.004], "ess_bulk_min": [700.0], "divergence_rate": [0]}
    )
    (line,) = gate_lines(pd.concat([old, new], ignore_index=True))
    assert "2 of 2 races pass" in line


def test_resume_refuses_another_loop_setting(shared_data, tmp_path, capsys):
    # auto with a loop file fits model_loop; the rows hold model
    assert _resume(shared_data, tmp_path, "model") == 2
    assert "pass the --loop-data of the first run" in capsys.readouterr().err


def test_resume_refuses_rows_fitted_with_other_model_settings(shared_data, tmp_path, capsys):
    import json

    from nascar_pipeline.core.model import ModelConfig

    # rows kept without settings (an earlier version): refused, naming the flags
    assert _resume(shared_data, tmp_path, "model_loop") == 2
    assert "--car-contrasts" in capsys.readouterr().err
    # rows of a run with car contrasts off, resumed with the default (on): refused
    (tmp_path / "bt_races_model.json").write_text(json.dumps(ModelConfig(form=True).as_dict()))
    assert _resume(shared_data, tmp_path, "model_loop") == 2
    err = capsys.readouterr().err
    assert "was fitted with model settings" in err
    # ... recorded before the incident layer (off then), resumed with today's default: the hint
    assert "no incidents: --incidents off" in err
    # rows of the default run, resumed with another recency: refused, naming the flag
    from nascar_pipeline.core.incidents import TUNED

    kept = ModelConfig(form=True, car_contrasts=True).as_dict()
    # a run with --incidents tuned recorded before superspeedways were left off: refused
    kept["incidents"] = list(TUNED.as_tuple())
    (tmp_path / "bt_races_model.json").write_text(json.dumps(kept))
    assert _resume(shared_data, tmp_path, "model_loop", extra=["--incidents", "tuned"]) == 2
    assert "'incidents_off_on': ['superspeedway']" in capsys.readouterr().err
    kept |= TUNED.settings()  # a run with --incidents tuned
    (tmp_path / "bt_races_model.json").write_text(json.dumps(kept))
    extra = ["--half-life-days", "180", "--incidents", "tuned"]
    assert _resume(shared_data, tmp_path, "model_loop", extra=extra) == 2
    err = capsys.readouterr().err
    assert "'half_life_days': 180.0" in err and "--half-life-days" in err
    # ... and with other scenario incidents: refused, naming the flag
    assert _resume(shared_data, tmp_path, "model_loop", extra=["--incidents", "1.5,0.1,3"]) == 2
    err = capsys.readouterr().err
    assert "'incidents': [1.5, 0.1, 3.0]" in err and "--incidents" in err


def test_bad_incidents_value_is_refused_by_name(capsys):
    import pytest

    with pytest.raises(SystemExit) as e:
        main(["backtest", "--season", "2025", "--incidents", "1.5,2,3"])
    assert e.value.code == 2
    assert "rate must be in [0, 1)" in capsys.readouterr().err
