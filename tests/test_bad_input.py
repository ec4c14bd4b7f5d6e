"""Bad input on every RPC of every service gets a clear refusal, never a crash.

A malformed request is INVALID_ARGUMENT with a ``BadRequest`` violation naming
the field; a well-formed name of something that does not exist is NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.clinic.v1 import clinic_pb2 as clin
from vaxbook.inventory.v1 import inventory_pb2 as inv

from services.common.clock import to_timestamp
from services.common.errors import read_error
from services.common.paging import encode_offset
from tests.mesh import (
    availability,
    booker,
    make_clinic,
    make_slot,
    new_id,
    reserve_request,
)

TOO_LONG_REQUEST_ID = "r" * 129
NOT_A_PAGE_TOKEN = "not-a-page-token"
YEAR_10000 = Timestamp(seconds=253_402_300_800)


@dataclass(frozen=True)
class World:
    """Real resources the requests below refer to."""

    clinic: clin.Clinic
    slot: clin.Slot
    other_clinic: clin.Clinic
    citizen: str

    @property
    def unknown_slot(self) -> str:
        return f"{self.clinic.name}/slots/{new_id()}"

    @property
    def unknown_hold(self) -> str:
        return f"{self.clinic.name}/holds/{new_id()}"


@pytest.fixture(scope="module")
async def world(mesh) -> World:
    clinic = await make_clinic(mesh)
    return World(
        clinic,
        await make_slot(mesh, clinic),
        await make_clinic(mesh),
        await booker(mesh),
    )


def _request_id(request_id: str | None) -> str:
    return new_id() if request_id is None else request_id


# Valid requests; each keyword replaces one field to make it bad.


def create_clinic(request_id=None, **fields) -> clin.CreateClinicRequest:
    clinic = {
        "display_name": "Bad Input Clinic",
        "region": "north",
        "address": "2 Test Road",
        "vaccines": ["comirnaty"],
        **fields,
    }
    return clin.CreateClinicRequest(
        clinic=clin.Clinic(**clinic), request_id=_request_id(request_id)
    )


def create_slot(
    w: World, parent=None, minutes=30, capacity=5, request_id=None, **times
) -> clin.CreateSlotRequest:
    start = w.slot.start_time.ToDatetime() + timedelta(days=1)
    slot = clin.Slot(
        start_time=times.get("start_time", to_timestamp(start)),
        end_time=times.get(
            "end_time", to_timestamp(start + timedelta(minutes=minutes))
        ),
        capacity=capacity,
    )
    return clin.CreateSlotRequest(
        parent=w.clinic.name if parent is None else parent,
        slot=slot,
        request_id=_request_id(request_id),
    )


def update_capacity(w: World, name=None, capacity=5, request_id=None):
    return clin.UpdateSlotCapacityRequest(
        name=w.slot.name if name is None else name,
        capacity=capacity,
        request_id=_request_id(request_id),
    )


def list_slots(w: World, **fields) -> clin.ListSlotsRequest:
    return clin.ListSlotsRequest(**{"parent": w.clinic.name, **fields})


def set_capacity(w: World, slot=None, capacity=5, request_id=None):
    return inv.SetSlotCapacityRequest(
        slot=w.unknown_slot if slot is None else slot,
        capacity=capacity,
        request_id=_request_id(request_id),
    )


def set_doses(w: World, request_id=None, **fields) -> inv.SetDoseStockRequest:
    stock = {"clinic": w.other_clinic.name, "vaccine": "comirnaty", "doses": 5}
    return inv.SetDoseStockRequest(
        **{**stock, **fields}, request_id=_request_id(request_id)
    )


def create_hold(w: World, request_id=None, **fields) -> inv.CreateHoldRequest:
    hold = {
        "slot": w.slot.name,
        "vaccine": "comirnaty",
        "hold_id": new_id(),
        "ttl_seconds": 60,
        **fields,
    }
    return inv.CreateHoldRequest(**hold, request_id=_request_id(request_id))


def commit_hold(w: World, request_id=None, **fields) -> inv.CommitHoldRequest:
    hold = {
        "name": w.unknown_hold,
        "slot": w.slot.name,
        "vaccine": "comirnaty",
        "expire_time": to_timestamp(w.slot.start_time.ToDatetime()),
        **fields,
    }
    return inv.CommitHoldRequest(
        **{k: v for k, v in hold.items() if v is not None},
        request_id=_request_id(request_id),
    )


def release_hold(w: World, name=None, request_id=None) -> inv.ReleaseHoldRequest:
    return inv.ReleaseHoldRequest(
        name=w.unknown_hold if name is None else name,
        request_id=_request_id(request_id),
    )


def reserve(w: World, request_id=None, **fields) -> appt.ReserveAppointmentRequest:
    request = reserve_request(w.slot, w.citizen)
    for field, value in fields.items():
        setattr(request, field, value)
    request.request_id = _request_id(request_id)
    return request


def confirm(name="appointments/unknown", request_id=None):
    return appt.ConfirmAppointmentRequest(name=name, request_id=_request_id(request_id))


def cancel(name="appointments/unknown", request_id=None):
    return appt.CancelAppointmentRequest(name=name, request_id=_request_id(request_id))


@dataclass(frozen=True)
class Call:
    """One RPC with a request built from the world."""

    service: str
    rpc: str
    build: Callable[[World], Message]

    async def run(self, mesh, world: World):
        stub = getattr(mesh, self.service)
        return await getattr(stub, self.rpc)(self.build(world))


def clinics(rpc: str, build: Callable[[World], Message]) -> Call:
    return Call("clinics", rpc, build)


def inventory(rpc: str, build: Callable[[World], Message]) -> Call:
    return Call("inventory", rpc, build)


def appointments(rpc: str, build: Callable[[World], Message]) -> Call:
    return Call("appointments", rpc, build)


def bad(description: str, call: Call, field: str):
    return pytest.param(call, field, id=description)


MALFORMED = [
    # ClinicService
    bad(
        "clinic_missing",
        clinics("CreateClinic", lambda w: clin.CreateClinicRequest(request_id="x")),
        "clinic.display_name",
    ),
    bad(
        "clinic_display_name_blank",
        clinics("CreateClinic", lambda w: create_clinic(display_name="   ")),
        "clinic.display_name",
    ),
    bad(
        "clinic_region_missing",
        clinics("CreateClinic", lambda w: create_clinic(region="")),
        "clinic.region",
    ),
    bad(
        "clinic_address_too_long",
        clinics("CreateClinic", lambda w: create_clinic(address="a" * 201)),
        "clinic.address",
    ),
    bad(
        "clinic_display_name_with_nul",
        clinics("CreateClinic", lambda w: create_clinic(display_name="Clinic\x00")),
        "clinic.display_name",
    ),
    bad(
        "clinic_without_vaccines",
        clinics("CreateClinic", lambda w: create_clinic(vaccines=[])),
        "clinic.vaccines",
    ),
    bad(
        "clinic_with_blank_vaccine",
        clinics("CreateClinic", lambda w: create_clinic(vaccines=["comirnaty", ""])),
        "clinic.vaccines",
    ),
    bad(
        "create_clinic_request_id_missing",
        clinics("CreateClinic", lambda w: create_clinic(request_id="")),
        "request_id",
    ),
    bad(
        "create_clinic_request_id_too_long",
        clinics(
            "CreateClinic", lambda w: create_clinic(request_id=TOO_LONG_REQUEST_ID)
        ),
        "request_id",
    ),
    bad(
        "create_clinic_request_id_with_nul",
        clinics("CreateClinic", lambda w: create_clinic(request_id="id\x00")),
        "request_id",
    ),
    bad(
        "get_clinic_name_missing",
        clinics("GetClinic", lambda w: clin.GetClinicRequest()),
        "name",
    ),
    bad(
        "get_clinic_name_without_collection",
        clinics("GetClinic", lambda w: clin.GetClinicRequest(name="riverside")),
        "name",
    ),
    bad(
        "get_clinic_name_in_capitals",
        clinics("GetClinic", lambda w: clin.GetClinicRequest(name="clinics/RIVER")),
        "name",
    ),
    bad(
        "get_clinic_given_a_slot_name",
        clinics("GetClinic", lambda w: clin.GetClinicRequest(name=w.slot.name)),
        "name",
    ),
    bad(
        "list_clinics_negative_page_size",
        clinics("ListClinics", lambda w: clin.ListClinicsRequest(page_size=-1)),
        "page_size",
    ),
    bad(
        "list_clinics_foreign_page_token",
        clinics(
            "ListClinics",
            lambda w: clin.ListClinicsRequest(page_token=NOT_A_PAGE_TOKEN),
        ),
        "page_token",
    ),
    bad(
        "list_clinics_region_with_nul",
        clinics("ListClinics", lambda w: clin.ListClinicsRequest(region="north\x00")),
        "region",
    ),
    bad(
        "create_slot_parent_missing",
        clinics("CreateSlot", lambda w: create_slot(w, parent="")),
        "parent",
    ),
    bad(
        "create_slot_parent_malformed",
        clinics("CreateSlot", lambda w: create_slot(w, parent="clinics/")),
        "parent",
    ),
    bad(
        "slot_start_time_missing",
        clinics("CreateSlot", lambda w: create_slot(w, start_time=None)),
        "slot.start_time",
    ),
    bad(
        "slot_ending_before_it_starts",
        clinics("CreateSlot", lambda w: create_slot(w, minutes=-30)),
        "slot.end_time",
    ),
    bad(
        "slot_ending_as_it_starts",
        clinics("CreateSlot", lambda w: create_slot(w, minutes=0)),
        "slot.end_time",
    ),
    bad(
        "slot_ending_after_year_9999",
        clinics("CreateSlot", lambda w: create_slot(w, end_time=YEAR_10000)),
        "slot.end_time",
    ),
    bad(
        "slot_with_zero_capacity",
        clinics("CreateSlot", lambda w: create_slot(w, capacity=0)),
        "slot.capacity",
    ),
    bad(
        "slot_with_negative_capacity",
        clinics("CreateSlot", lambda w: create_slot(w, capacity=-3)),
        "slot.capacity",
    ),
    bad(
        "create_slot_request_id_missing",
        clinics("CreateSlot", lambda w: create_slot(w, request_id="")),
        "request_id",
    ),
    bad(
        "create_slot_request_id_too_long",
        clinics("CreateSlot", lambda w: create_slot(w, request_id=TOO_LONG_REQUEST_ID)),
        "request_id",
    ),
    bad(
        "get_slot_name_missing",
        clinics("GetSlot", lambda w: clin.GetSlotRequest()),
        "name",
    ),
    bad(
        "get_slot_given_a_clinic_name",
        clinics("GetSlot", lambda w: clin.GetSlotRequest(name=w.clinic.name)),
        "name",
    ),
    bad(
        "list_slots_parent_missing",
        clinics("ListSlots", lambda w: list_slots(w, parent="")),
        "parent",
    ),
    bad(
        "list_slots_parent_malformed",
        clinics("ListSlots", lambda w: list_slots(w, parent="clinics/-/slots")),
        "parent",
    ),
    bad(
        "list_slots_date_not_a_day",
        clinics("ListSlots", lambda w: list_slots(w, date="2027-02-30")),
        "date",
    ),
    bad(
        "list_slots_date_in_words",
        clinics("ListSlots", lambda w: list_slots(w, date="tomorrow")),
        "date",
    ),
    bad(
        "list_slots_negative_page_size",
        clinics("ListSlots", lambda w: list_slots(w, page_size=-5)),
        "page_size",
    ),
    bad(
        "list_slots_foreign_page_token",
        clinics("ListSlots", lambda w: list_slots(w, page_token=NOT_A_PAGE_TOKEN)),
        "page_token",
    ),
    bad(
        "list_slots_page_token_beyond_any_offset",
        clinics(
            "ListSlots",
            lambda w: list_slots(w, page_token=encode_offset(2**63)),
        ),
        "page_token",
    ),
    bad(
        "update_capacity_name_missing",
        clinics("UpdateSlotCapacity", lambda w: update_capacity(w, name="")),
        "name",
    ),
    bad(
        "update_capacity_to_zero",
        clinics("UpdateSlotCapacity", lambda w: update_capacity(w, capacity=0)),
        "capacity",
    ),
    bad(
        "update_capacity_to_negative",
        clinics("UpdateSlotCapacity", lambda w: update_capacity(w, capacity=-1)),
        "capacity",
    ),
    bad(
        "update_capacity_request_id_missing",
        clinics("UpdateSlotCapacity", lambda w: update_capacity(w, request_id="")),
        "request_id",
    ),
    # InventoryService
    bad(
        "set_capacity_slot_malformed",
        inventory("SetSlotCapacity", lambda w: set_capacity(w, slot="slots/1")),
        "slot",
    ),
    bad(
        "set_capacity_to_zero",
        inventory("SetSlotCapacity", lambda w: set_capacity(w, capacity=0)),
        "capacity",
    ),
    bad(
        "set_capacity_to_negative",
        inventory("SetSlotCapacity", lambda w: set_capacity(w, capacity=-2)),
        "capacity",
    ),
    bad(
        "set_capacity_request_id_missing",
        inventory("SetSlotCapacity", lambda w: set_capacity(w, request_id="")),
        "request_id",
    ),
    bad(
        "set_doses_clinic_missing",
        inventory("SetDoseStock", lambda w: set_doses(w, clinic="")),
        "clinic",
    ),
    bad(
        "set_doses_vaccine_missing",
        inventory("SetDoseStock", lambda w: set_doses(w, vaccine="")),
        "vaccine",
    ),
    bad(
        "set_doses_vaccine_with_nul",
        inventory("SetDoseStock", lambda w: set_doses(w, vaccine="comirnaty\x00")),
        "vaccine",
    ),
    bad(
        "set_doses_negative",
        inventory("SetDoseStock", lambda w: set_doses(w, doses=-1)),
        "doses",
    ),
    bad(
        "set_doses_request_id_too_long",
        inventory(
            "SetDoseStock", lambda w: set_doses(w, request_id=TOO_LONG_REQUEST_ID)
        ),
        "request_id",
    ),
    bad(
        "availability_slot_missing",
        inventory("GetAvailability", lambda w: inv.GetAvailabilityRequest()),
        "slot",
    ),
    bad(
        "availability_given_a_clinic_name",
        inventory(
            "GetAvailability", lambda w: inv.GetAvailabilityRequest(slot=w.clinic.name)
        ),
        "slot",
    ),
    bad(
        "hold_slot_missing",
        inventory("CreateHold", lambda w: create_hold(w, slot="")),
        "slot",
    ),
    bad(
        "hold_vaccine_missing",
        inventory("CreateHold", lambda w: create_hold(w, vaccine="")),
        "vaccine",
    ),
    bad(
        "hold_id_missing",
        inventory("CreateHold", lambda w: create_hold(w, hold_id="")),
        "hold_id",
    ),
    bad(
        "hold_id_with_punctuation",
        inventory("CreateHold", lambda w: create_hold(w, hold_id="hold/1!")),
        "hold_id",
    ),
    bad(
        "hold_ttl_zero",
        inventory("CreateHold", lambda w: create_hold(w, ttl_seconds=0)),
        "ttl_seconds",
    ),
    bad(
        "hold_ttl_over_a_week",
        inventory(
            "CreateHold", lambda w: create_hold(w, ttl_seconds=7 * 24 * 3600 + 1)
        ),
        "ttl_seconds",
    ),
    bad(
        "hold_request_id_missing",
        inventory("CreateHold", lambda w: create_hold(w, request_id="")),
        "request_id",
    ),
    bad(
        "batch_of_no_holds",
        inventory("BatchCreateHolds", lambda w: inv.BatchCreateHoldsRequest()),
        "requests",
    ),
    bad(
        "commit_hold_name_malformed",
        inventory("CommitHold", lambda w: commit_hold(w, name=w.slot.name)),
        "name",
    ),
    bad(
        "commit_hold_with_slot_of_another_clinic",
        inventory(
            "CommitHold",
            lambda w: commit_hold(w, name=f"{w.other_clinic.name}/holds/{new_id()}"),
        ),
        "slot",
    ),
    bad(
        "commit_hold_vaccine_missing",
        inventory("CommitHold", lambda w: commit_hold(w, vaccine="")),
        "vaccine",
    ),
    bad(
        "commit_hold_expire_time_missing",
        inventory("CommitHold", lambda w: commit_hold(w, expire_time=None)),
        "expire_time",
    ),
    bad(
        "commit_hold_expire_time_after_year_9999",
        inventory("CommitHold", lambda w: commit_hold(w, expire_time=YEAR_10000)),
        "expire_time",
    ),
    bad(
        "commit_hold_request_id_missing",
        inventory("CommitHold", lambda w: commit_hold(w, request_id="")),
        "request_id",
    ),
    bad(
        "release_hold_name_missing",
        inventory("ReleaseHold", lambda w: release_hold(w, name="")),
        "name",
    ),
    bad(
        "release_hold_given_a_slot_name",
        inventory("ReleaseHold", lambda w: release_hold(w, name=w.slot.name)),
        "name",
    ),
    bad(
        "release_hold_request_id_too_long",
        inventory(
            "ReleaseHold", lambda w: release_hold(w, request_id=TOO_LONG_REQUEST_ID)
        ),
        "request_id",
    ),
    # AppointmentService
    bad(
        "reserve_citizen_missing",
        appointments("ReserveAppointment", lambda w: reserve(w, citizen="")),
        "citizen",
    ),
    bad(
        "reserve_citizen_without_collection",
        appointments("ReserveAppointment", lambda w: reserve(w, citizen="alice")),
        "citizen",
    ),
    bad(
        "reserve_slot_malformed",
        appointments("ReserveAppointment", lambda w: reserve(w, slot="slot-1")),
        "slot",
    ),
    bad(
        "reserve_vaccine_missing",
        appointments("ReserveAppointment", lambda w: reserve(w, vaccine="")),
        "vaccine",
    ),
    bad(
        "reserve_dose_number_zero",
        appointments("ReserveAppointment", lambda w: reserve(w, dose_number=0)),
        "dose_number",
    ),
    bad(
        "reserve_dose_number_eleven",
        appointments("ReserveAppointment", lambda w: reserve(w, dose_number=11)),
        "dose_number",
    ),
    bad(
        "reserve_dose_number_negative",
        appointments("ReserveAppointment", lambda w: reserve(w, dose_number=-1)),
        "dose_number",
    ),
    bad(
        "reserve_request_id_missing",
        appointments("ReserveAppointment", lambda w: reserve(w, request_id="")),
        "request_id",
    ),
    bad(
        "reserve_request_id_too_long",
        appointments(
            "ReserveAppointment", lambda w: reserve(w, request_id=TOO_LONG_REQUEST_ID)
        ),
        "request_id",
    ),
    bad(
        "confirm_name_missing",
        appointments("ConfirmAppointment", lambda w: confirm(name="")),
        "name",
    ),
    bad(
        "confirm_name_malformed",
        appointments("ConfirmAppointment", lambda w: confirm(name="appointment/1")),
        "name",
    ),
    bad(
        "confirm_request_id_missing",
        appointments("ConfirmAppointment", lambda w: confirm(request_id="")),
        "request_id",
    ),
    bad(
        "cancel_name_malformed",
        appointments("CancelAppointment", lambda w: cancel(name=w.slot.name)),
        "name",
    ),
    bad(
        "cancel_request_id_too_long",
        appointments(
            "CancelAppointment", lambda w: cancel(request_id=TOO_LONG_REQUEST_ID)
        ),
        "request_id",
    ),
    bad(
        "get_appointment_name_missing",
        appointments("GetAppointment", lambda w: appt.GetAppointmentRequest()),
        "name",
    ),
    bad(
        "get_appointment_name_malformed",
        appointments(
            "GetAppointment", lambda w: appt.GetAppointmentRequest(name="appointments/")
        ),
        "name",
    ),
    bad(
        "list_appointments_parent_missing",
        appointments("ListAppointments", lambda w: appt.ListAppointmentsRequest()),
        "parent",
    ),
    bad(
        "list_appointments_parent_malformed",
        appointments(
            "ListAppointments",
            lambda w: appt.ListAppointmentsRequest(parent="citizens/Alice Smith"),
        ),
        "parent",
    ),
    bad(
        "list_appointments_negative_page_size",
        appointments(
            "ListAppointments",
            lambda w: appt.ListAppointmentsRequest(parent="citizens/a", page_size=-1),
        ),
        "page_size",
    ),
    bad(
        "list_appointments_foreign_page_token",
        appointments(
            "ListAppointments",
            lambda w: appt.ListAppointmentsRequest(
                parent="citizens/a", page_token=NOT_A_PAGE_TOKEN
            ),
        ),
        "page_token",
    ),
    bad(
        "list_clinic_appointments_parent_missing",
        appointments(
            "ListClinicAppointments", lambda w: appt.ListClinicAppointmentsRequest()
        ),
        "parent",
    ),
    bad(
        "list_clinic_appointments_slot_of_another_clinic",
        appointments(
            "ListClinicAppointments",
            lambda w: appt.ListClinicAppointmentsRequest(
                parent=w.other_clinic.name, slot=w.slot.name
            ),
        ),
        "slot",
    ),
    bad(
        "list_clinic_appointments_window_backwards",
        appointments(
            "ListClinicAppointments",
            lambda w: appt.ListClinicAppointmentsRequest(
                parent=w.clinic.name,
                start_time_from=Timestamp(seconds=2_000),
                start_time_before=Timestamp(seconds=1_000),
            ),
        ),
        "start_time_before",
    ),
    bad(
        "list_clinic_appointments_time_out_of_range",
        appointments(
            "ListClinicAppointments",
            lambda w: appt.ListClinicAppointmentsRequest(
                parent=w.clinic.name, start_time_from=YEAR_10000
            ),
        ),
        "start_time_from",
    ),
    bad(
        "list_clinic_appointments_page_size_negative",
        appointments(
            "ListClinicAppointments",
            lambda w: appt.ListClinicAppointmentsRequest(
                parent=w.clinic.name, page_size=-1
            ),
        ),
        "page_size",
    ),
]


@pytest.mark.parametrize(("call", "field"), MALFORMED)
async def test_malformed_request_is_invalid_argument_naming_the_field(
    mesh, world, call, field
):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.run(mesh, world)

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error.message
    assert error.reason == "INVALID_ARGUMENT"
    assert field in error.field_violations, error.field_violations


UNKNOWN = [
    bad(
        "get_clinic",
        clinics("GetClinic", lambda w: clin.GetClinicRequest(name="clinics/nowhere")),
        "CLINIC_NOT_FOUND",
    ),
    bad(
        "create_slot_at_unknown_clinic",
        clinics("CreateSlot", lambda w: create_slot(w, parent="clinics/nowhere")),
        "CLINIC_NOT_FOUND",
    ),
    bad(
        "list_slots_of_unknown_clinic",
        clinics("ListSlots", lambda w: list_slots(w, parent="clinics/nowhere")),
        "CLINIC_NOT_FOUND",
    ),
    bad(
        "get_slot",
        clinics("GetSlot", lambda w: clin.GetSlotRequest(name=w.unknown_slot)),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "get_slot_under_another_clinic",
        clinics(
            "GetSlot",
            lambda w: clin.GetSlotRequest(
                name=w.slot.name.replace(w.clinic.name, w.other_clinic.name)
            ),
        ),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "update_capacity_of_unknown_slot",
        clinics(
            "UpdateSlotCapacity", lambda w: update_capacity(w, name=w.unknown_slot)
        ),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "availability_of_unknown_slot",
        inventory(
            "GetAvailability", lambda w: inv.GetAvailabilityRequest(slot=w.unknown_slot)
        ),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "hold_on_unknown_slot",
        inventory("CreateHold", lambda w: create_hold(w, slot=w.unknown_slot)),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "hold_at_unknown_clinic",
        inventory(
            "CreateHold", lambda w: create_hold(w, slot="clinics/nowhere/slots/none")
        ),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "reserve_unknown_slot",
        appointments("ReserveAppointment", lambda w: reserve(w, slot=w.unknown_slot)),
        "SLOT_NOT_FOUND",
    ),
    bad(
        "confirm",
        appointments("ConfirmAppointment", lambda w: confirm()),
        "APPOINTMENT_NOT_FOUND",
    ),
    bad(
        "cancel",
        appointments("CancelAppointment", lambda w: cancel()),
        "APPOINTMENT_NOT_FOUND",
    ),
    bad(
        "get_appointment",
        appointments(
            "GetAppointment",
            lambda w: appt.GetAppointmentRequest(name="appointments/unknown"),
        ),
        "APPOINTMENT_NOT_FOUND",
    ),
]


@pytest.mark.parametrize(("call", "reason"), UNKNOWN)
async def test_unknown_resource_is_not_found(mesh, world, call, reason):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.run(mesh, world)

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.NOT_FOUND, error.message
    assert error.reason == reason


async def test_every_bad_field_is_named_in_one_refusal(mesh, world):
    request = reserve(world, citizen="", dose_number=11, request_id="")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.appointments.ReserveAppointment(request)

    violations = read_error(refused.value).field_violations
    assert set(violations) == {"citizen", "dose_number", "request_id"}
    assert "between 1 and 10" in violations["dose_number"]


async def test_committing_on_a_slot_inventory_never_had_is_not_found(mesh, world):
    request = commit_hold(world, slot=world.unknown_slot)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.inventory.CommitHold(request)

    error = read_error(refused.value)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "SLOT_NOT_FOUND")


async def test_committing_an_unknown_hold_after_its_expiry_is_hold_expired(mesh, world):
    ran_out = to_timestamp(mesh.clock.now() - timedelta(seconds=1))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.inventory.CommitHold(commit_hold(world, expire_time=ran_out))

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "HOLD_EXPIRED"
    assert (await availability(mesh, world.slot)).seats.committed == 0


async def test_releasing_a_hold_never_taken_frees_nothing(mesh, world):
    before = await availability(mesh, world.slot)

    released = await mesh.inventory.ReleaseHold(release_hold(world))

    assert released.state == inv.HOLD_STATE_RELEASED
    assert await availability(mesh, world.slot) == before


async def test_vaccine_the_clinic_does_not_offer_is_refused_before_any_hold(mesh):
    clinic = await make_clinic(mesh, vaccines=("comirnaty",))
    slot = await make_slot(mesh, clinic)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.appointments.ReserveAppointment(
            reserve_request(slot, await booker(mesh), vaccine="spikevax")
        )

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "VACCINE_NOT_OFFERED"
    assert (await availability(mesh, slot, "spikevax")).seats.held == 0


async def test_capacity_below_committed_seats_is_refused_and_left_unchanged(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, capacity=3)
    for _ in range(2):
        reserved = await mesh.appointments.ReserveAppointment(
            reserve_request(slot, await booker(mesh))
        )
        await mesh.appointments.ConfirmAppointment(confirm(reserved.name))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mesh.clinics.UpdateSlotCapacity(
            clin.UpdateSlotCapacityRequest(
                name=slot.name, capacity=1, request_id=new_id()
            )
        )

    error = read_error(refused.value)
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "BELOW_COMMITTED"
    kept = await mesh.clinics.GetSlot(clin.GetSlotRequest(name=slot.name))
    assert kept.capacity == 3
    counts = await availability(mesh, slot)
    assert (counts.seats.total, counts.seats.committed) == (3, 2)
