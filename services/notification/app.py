"""Wires the notification service from settings."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from vaxbook.auth.v1 import auth_pb2_grpc
from vaxbook.notification.v1 import notification_pb2_grpc

from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.jobs import PeriodicJob
from services.common.server import Registration
from services.notification.config import NotificationSettings
from services.notification.consumer import EventConsumer
from services.notification.contacts import Contacts
from services.notification.jetstream import DeadLetters, JetStreamLink
from services.notification.notifier import Notifier
from services.notification.providers import http_client, providers
from services.notification.reminders import Reminders
from services.notification.servicer import (
    ACCESS_POLICY,
    SERVICE,
    NotificationServicer,
)
from services.notification.store import NotificationStore


async def build(
    settings: Settings,
    clock: Clock | None = None,
    notification: NotificationSettings | None = None,
):
    """The notification registration and its shutdown hooks."""
    clock = clock or SystemClock()
    config = notification or NotificationSettings.from_env()
    engine = create_engine(settings.database_url, pool_size=5)
    store = NotificationStore(engine)
    access = await ServiceAccess.start(settings, clock, "notification")
    auth = auth_pb2_grpc.AuthServiceStub(access.channel(settings.service_addrs["auth"]))
    client = http_client(config)
    link = JetStreamLink(EventSettings.from_settings(settings))
    notifier = Notifier(
        store,
        Contacts(auth),
        providers(config, client),
        DeadLetters(link),
        config.retry,
        clock,
    )
    consumer = EventConsumer(link, store, notifier, config)
    reminders = Reminders(store, notifier, ZoneInfo(config.time_zone), clock)
    reminder_job = PeriodicJob(
        "reminders", reminders.send_due, config.reminder_poll_seconds
    )
    consumer.start()
    reminder_job.start()

    async def close() -> None:
        await reminder_job.stop()
        await consumer.stop()
        await link.close()
        await client.aclose()
        await access.close()
        await engine.dispose()

    registration = Registration(
        SERVICE,
        notification_pb2_grpc.add_NotificationServiceServicer_to_server,
        NotificationServicer(store),
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
