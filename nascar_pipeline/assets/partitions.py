"""The one partition dimension: a race. Never partition per lineup or per scenario."""

from dagster import DynamicPartitionsDefinition

RACES_PARTITIONS_NAME = "races"
races_partitions = DynamicPartitionsDefinition(name=RACES_PARTITIONS_NAME)
