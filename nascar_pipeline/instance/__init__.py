"""Dagster instance plugins: classes that dagster.yaml names by module and class.

- `postgres.ResilientPostgresStorage` (`storage: custom:`): dagster-postgres' storage made to
  ride out a database restart or failover.

Plugins subclass Dagster's storage classes and so lean on Dagster internals; every private
import they make is listed, with what it is used for, in `_dagster_internals.py`, and
tests/instance/test_dagster_internals.py fails by name when a Dagster upgrade moves one.
Nothing is imported here: dagster.yaml names the module, and Dagster imports it on its own.
"""
