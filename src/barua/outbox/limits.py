"""How much a provider lets one account send: connections, messages per connection, per
minute and per day, from the provider presets."""

from __future__ import annotations

from dataclasses import dataclass

from barua.settings import Settings
from barua.setup.providers import preset_for_host


@dataclass(frozen=True, slots=True, kw_only=True)
class SendingLimits:
    """What a provider allows one account; ``None`` means no limit."""

    connections: int = 4
    """Connections at once (the worker's default concurrency)."""
    max_messages_per_connection: int | None = None
    """Reconnect after this many messages on one connection."""
    per_minute: int | None = None
    """Messages per rolling minute."""
    per_day: int | None = None
    """Messages per rolling 24 hours."""


def limits_for(settings: Settings) -> SendingLimits:
    """The sending limits of the provider preset the settings' server belongs to.

    A known provider gets its documented daily and per-minute limits and at most its
    connections (3 when it documents none); an unknown server gets 4 connections, no limit.
    """
    preset = preset_for_host(settings.host, settings.port) if settings.host else None
    if preset is None:
        return SendingLimits()
    return SendingLimits(
        connections=preset.max_connections or 3,
        per_minute=preset.per_minute_limit,
        per_day=preset.daily_limit,
    )
