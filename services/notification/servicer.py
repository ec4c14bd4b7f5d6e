"""gRPC transport of the notification service, and who may call each RPC."""

from __future__ import annotations

from vaxbook.notification.v1 import notification_pb2 as pb
from vaxbook.notification.v1 import notification_pb2_grpc

from services.common import paging
from services.common.auth import Role, require_person
from services.common.clock import to_timestamp
from services.common.names import APPOINTMENT
from services.common.validation import Resource, checking
from services.notification.providers import Channel
from services.notification.store import DeliveryRow, DeliveryState, NotificationStore

SERVICE = pb.DESCRIPTOR.services_by_name["NotificationService"].full_name
DELIVERY = Resource("appointments/{appointment}/deliveries/{delivery}")

# Who may call each RPC; the AuthInterceptor refuses everyone else. Citizens
# are further limited to their own appointments.
ACCESS_POLICY = {
    f"/{SERVICE}/ListDeliveries": {Role.SERVICE, Role.ADMIN, Role.CITIZEN},
}

_CHANNELS = {
    Channel.EMAIL: pb.CHANNEL_EMAIL,
    Channel.SMS: pb.CHANNEL_SMS,
    Channel.PUSH: pb.CHANNEL_PUSH,
}
_STATES = {
    DeliveryState.QUEUED: pb.DELIVERY_STATE_QUEUED,
    DeliveryState.SENT: pb.DELIVERY_STATE_SENT,
    DeliveryState.FAILED: pb.DELIVERY_STATE_FAILED,
    DeliveryState.DEAD: pb.DELIVERY_STATE_DEAD,
}


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, store: NotificationStore) -> None:
        self.store = store

    async def ListDeliveries(self, request, context) -> pb.ListDeliveriesResponse:
        with checking() as check:
            ids = check.name("parent", request.parent, APPOINTMENT)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        # Whose appointment it is comes from its events. Before the first
        # arrives nothing was sent, and everyone gets the same empty answer.
        account = await self.store.appointment_account(ids["appointment"])
        if account is None:
            return pb.ListDeliveriesResponse()
        require_person(account, request.parent)
        rows = await self.store.list_deliveries(ids["appointment"], offset, size + 1)
        return pb.ListDeliveriesResponse(
            deliveries=[_delivery(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )


def _delivery(row: DeliveryRow) -> pb.Delivery:
    delivery = pb.Delivery(
        name=DELIVERY.format(appointment=row.appointment_id, delivery=row.id),
        event_id=row.event_id,
        channel=_CHANNELS[Channel(row.channel)],
        template=row.template,
        language=row.language,
        masked_destination=row.masked_destination,
        state=_STATES[DeliveryState(row.state)],
        attempts=row.attempts,
        last_error=row.last_error,
        create_time=to_timestamp(row.create_time),
        update_time=to_timestamp(row.update_time),
    )
    if row.send_time is not None:
        delivery.send_time.CopyFrom(to_timestamp(row.send_time))
    return delivery
