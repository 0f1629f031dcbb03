"""Dagster resource for alerts: where they go (a webhook URL from the environment) or nowhere."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from nascar_pipeline.automation.alerts import WebhookSink


class AlertsResource(ConfigurableResource):
    """`webhook_url` unset: alerting is off (the sensors still run and say so in their ticks)."""

    webhook_url: str | None = Field(
        default=None,
        description="generic JSON / Slack-compatible webhook (NASCAR_ALERT_WEBHOOK_URL); a "
        "secret: never logged",
        repr=False,
    )
    timeout_s: float = Field(default=10.0, description="seconds to wait for the receiver")

    def sink(self) -> WebhookSink | None:
        return WebhookSink(self.webhook_url, self.timeout_s) if self.webhook_url else None
