"""Orchestration: what starts race runs and when.

- `sensors.race_sensor`: new races become partitions and get a run; a changed slate (salaries,
  start positions, contest) gets a new run, keyed by the slate's content hash.
- `schedules.pre_lock_schedule`: every 15 minutes, any race locking soon whose current slate has
  not been materialized (and is not queued or running) gets a run.
- `sensors.results_sensor`: a materialized race whose results arrived gets a `race_backtest` run;
  `sensors.season_report_sensor` refreshes the season report after each backtest.
- `policies`: run tags, priorities, retry policies, intervals; `pools`: concurrency pool limits;
  `state`: the few instance queries the above share.

Heavy imports stay in functions: the CLI imports this package only to submit backfills.
"""
