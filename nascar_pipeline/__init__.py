"""nascar-pipeline: NASCAR DFS research and lineup building as Dagster assets."""

__version__ = "0.1.0"
