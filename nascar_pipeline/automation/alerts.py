"""Alerts an on-call engineer can act on: a webhook POST per race and cause, never a storm.

An alert is one JSON POST to the configured webhook (`NASCAR_ALERT_WEBHOOK_URL`). The body is
Slack-compatible (`text` is what Slack, Mattermost and most chat webhooks show) and carries the
structured facts under `alert` for any other receiver:

    {"text": "race 2026-sonoma-... : race_job run failed at race_model_fit ...",
     "alert": {"race_key": ..., "cause": ..., "title": ..., "details": {...}, "run_id": ...}}

No storms: the `AlertLedger` remembers, in the Dagster instance's own key-value store (the same
Postgres the runs live in, so every daemon and pod sees it), which (race, cause) pairs were
already announced. A second failure of the same race for the same cause sends nothing until the
race is resolved (a later race run succeeds), after which a new failure alerts again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

log = logging.getLogger("nascar_pipeline.alerts")

LEDGER_PREFIX = "nascar_pipeline/alerts/"
RESOLVED = ""  # the instance's cursor store cannot delete a key: an empty value means resolved


@dataclass(frozen=True)
class Alert:
    """One thing someone should look at: which race, why (a stable cause key), and the facts."""

    race_key: str
    cause: str
    title: str
    details: Mapping[str, object] = field(default_factory=dict)
    run_id: str | None = None

    def payload(self) -> dict:
        facts = ", ".join(f"{k}: {v}" for k, v in self.details.items())
        text = f"[nascar-pipeline] race {self.race_key}: {self.title}"
        return {
            "text": text + (f" ({facts})" if facts else ""),
            "alert": {
                "race_key": self.race_key,
                "cause": self.cause,
                "title": self.title,
                "details": {k: _jsonable(v) for k, v in self.details.items()},
                "run_id": self.run_id,
                "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        }


def _jsonable(value: object) -> object:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


class WebhookSink:
    """POSTs an alert as JSON. A receiver that is down must not fail the sensor that noticed the
    problem: the error is logged and `send` returns False, so the ledger does not record the
    alert and the next evaluation tries again."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url = url
        self.timeout_s = timeout_s

    def send(self, alert: Alert) -> bool:
        try:
            response = httpx.post(self.url, json=alert.payload(), timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            log.warning("alert webhook unreachable (%s): %s", type(exc).__name__, alert.title)
            return False
        if response.status_code >= 300:
            log.warning("alert webhook answered %s: %s", response.status_code, alert.title)
            return False
        return True


class AlertLedger:
    """Which (race, cause) alerts are out, kept in the instance's daemon cursor store."""

    def __init__(self, instance):
        self._store = instance.daemon_cursor_storage

    @staticmethod
    def _key(race_key: str, cause: str) -> str:
        return f"{LEDGER_PREFIX}{race_key}/{cause}"

    @staticmethod
    def _index_key(race_key: str) -> str:
        return f"{LEDGER_PREFIX}{race_key}"

    def is_open(self, race_key: str, cause: str) -> bool:
        key = self._key(race_key, cause)
        return bool(self._store.get_cursor_values({key}).get(key))

    def open(self, alert: Alert) -> None:
        index_key = self._index_key(alert.race_key)
        causes = set(json.loads(self._store.get_cursor_values({index_key}).get(index_key) or "[]"))
        causes.add(alert.cause)
        self._store.set_cursor_values(
            {
                self._key(alert.race_key, alert.cause): json.dumps(
                    {"run_id": alert.run_id, "title": alert.title}
                ),
                index_key: json.dumps(sorted(causes)),
            }
        )

    def resolve(self, race_key: str) -> list[str]:
        """Close every open alert of the race; returns the causes that were open."""
        index_key = self._index_key(race_key)
        causes = json.loads(self._store.get_cursor_values({index_key}).get(index_key) or "[]")
        if causes:
            values = {self._key(race_key, c): RESOLVED for c in causes}
            values[index_key] = "[]"
            self._store.set_cursor_values(values)
        return list(causes)


def notify_once(ledger: AlertLedger, sink: WebhookSink | None, alert: Alert) -> bool:
    """Send `alert` unless the same race and cause is already announced; True if it was sent."""
    if sink is None or ledger.is_open(alert.race_key, alert.cause):
        return False
    if not sink.send(alert):
        return False
    ledger.open(alert)
    return True
