"""Typed settings of the notification service, from ``VAXBOOK_NOTIFICATION_*``
and ``VAXBOOK_SMTP_*``.

| variable | default |
|---|---|
| ``VAXBOOK_NOTIFICATION_REMINDER_HOURS`` | ``24`` before the slot starts |
| ``VAXBOOK_NOTIFICATION_REMINDER_POLL_SECONDS`` | ``30`` between reminder passes |
| ``VAXBOOK_NOTIFICATION_MAX_ATTEMPTS`` | ``5`` attempts, then dead |
| ``VAXBOOK_NOTIFICATION_BASE_DELAY_SECONDS`` | ``5``, doubled after each failure |
| ``VAXBOOK_NOTIFICATION_MAX_DELAY_SECONDS`` | ``600`` |
| ``VAXBOOK_NOTIFICATION_SMS_URL`` | ``http://127.0.0.1:8091`` (the stand-in) |
| ``VAXBOOK_NOTIFICATION_PUSH_URL`` | empty: no push notifications |
| ``VAXBOOK_NOTIFICATION_PROVIDER_CONNECT_TIMEOUT_SECONDS`` | ``1`` |
| ``VAXBOOK_NOTIFICATION_PROVIDER_READ_TIMEOUT_SECONDS`` | ``5`` |
| ``VAXBOOK_NOTIFICATION_TIME_ZONE`` | ``UTC``; slot times are written in it |
| ``VAXBOOK_SMTP_HOST`` | ``127.0.0.1`` |
| ``VAXBOOK_SMTP_PORT`` | ``8025`` |
| ``VAXBOOK_SMTP_SENDER`` | ``vaxbook <no-reply@vaxbook.example>`` |
| ``VAXBOOK_SMTP_TIMEOUT_SECONDS`` | ``10`` |
| ``VAXBOOK_SMTP_STARTTLS`` | ``false`` |
| ``VAXBOOK_SMTP_USERNAME``, ``VAXBOOK_SMTP_PASSWORD`` | empty: no login |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.config import ConfigError, EnvReader

_NOTIFICATION = "VAXBOOK_NOTIFICATION_"
_SMTP = "VAXBOOK_SMTP_"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed delivery is tried again, and how long apart."""

    max_attempts: int = 5
    base_delay_seconds: float = 5.0
    max_delay_seconds: float = 600.0

    def delay_seconds(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts: the base delay,
        doubled for each attempt after the first, capped."""
        growth = 2 ** max(0, attempts - 1)
        return min(self.max_delay_seconds, self.base_delay_seconds * growth)


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server e-mails are handed to."""

    host: str = "127.0.0.1"
    port: int = 8025
    sender: str = "vaxbook <no-reply@vaxbook.example>"
    timeout_seconds: float = 10.0
    start_tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SmtpSettings:
        env = EnvReader(_SMTP, environ)
        defaults = cls()
        return cls(
            host=env.text("HOST", defaults.host),
            port=env.whole("PORT", defaults.port),
            sender=env.text("SENDER", defaults.sender),
            timeout_seconds=env.number("TIMEOUT_SECONDS", defaults.timeout_seconds),
            start_tls=env.flag("STARTTLS", defaults.start_tls),
            username=env.text("USERNAME", defaults.username),
            password=env.text("PASSWORD", defaults.password),
        )


@dataclass(frozen=True)
class NotificationSettings:
    """When reminders go out, how failures are retried, and where messages
    are handed over."""

    reminder_hours: float = 24.0
    reminder_poll_seconds: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sms_url: str = "http://127.0.0.1:8091"
    push_url: str = ""
    provider_connect_timeout_seconds: float = 1.0
    provider_read_timeout_seconds: float = 5.0
    time_zone: str = "UTC"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{_NOTIFICATION}TIME_ZONE must name a time zone such as "
                f"'Asia/Kolkata', got {self.time_zone!r}"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> NotificationSettings:
        env = EnvReader(_NOTIFICATION, environ)
        defaults = cls()
        return cls(
            reminder_hours=env.number("REMINDER_HOURS", defaults.reminder_hours),
            reminder_poll_seconds=env.number(
                "REMINDER_POLL_SECONDS", defaults.reminder_poll_seconds
            ),
            retry=_retry_from_env(env, defaults.retry),
            sms_url=env.text("SMS_URL", defaults.sms_url),
            push_url=env.text("PUSH_URL", defaults.push_url),
            provider_connect_timeout_seconds=env.number(
                "PROVIDER_CONNECT_TIMEOUT_SECONDS",
                defaults.provider_connect_timeout_seconds,
            ),
            provider_read_timeout_seconds=env.number(
                "PROVIDER_READ_TIMEOUT_SECONDS", defaults.provider_read_timeout_seconds
            ),
            time_zone=env.text("TIME_ZONE", defaults.time_zone),
            smtp=SmtpSettings.from_env(environ),
        )


def _retry_from_env(env: EnvReader, defaults: RetryPolicy) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=env.whole("MAX_ATTEMPTS", defaults.max_attempts),
        base_delay_seconds=env.number(
            "BASE_DELAY_SECONDS", defaults.base_delay_seconds
        ),
        max_delay_seconds=env.number("MAX_DELAY_SECONDS", defaults.max_delay_seconds),
    )
