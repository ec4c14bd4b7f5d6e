"""Clinics and slots: creating, reading, listing, retrying, and the seats they
give the inventory service."""

from __future__ import annotations

from datetime import UTC, timedelta

from vaxbook.clinic.v1 import clinic_pb2 as clin

from services.common.clock import to_timestamp
from services.common.names import CLINIC, SLOT
from tests.mesh import availability, make_clinic, make_slot, new_id


def unique(kind: str) -> str:
    """A region or vaccine code no other test uses, so filters see only ours."""
    return f"{kind}-{new_id()[:12]}"


def clinic_request(region="north", vaccines=("comirnaty",), request_id=None):
    return clin.CreateClinicRequest(
        clinic=clin.Clinic(
            display_name="Riverside Health Centre",
            region=region,
            address="4 Mill Lane",
            vaccines=list(vaccines),
        ),
        request_id=request_id or new_id(),
    )


def slot_request(clinic: clin.Clinic, start, capacity=10, request_id=None):
    return clin.CreateSlotRequest(
        parent=clinic.name,
        slot=clin.Slot(
            start_time=to_timestamp(start),
            end_time=to_timestamp(start + timedelta(minutes=30)),
            capacity=capacity,
        ),
        request_id=request_id or new_id(),
    )


async def list_all_slots(mesh, request: clin.ListSlotsRequest) -> list[clin.Slot]:
    slots, request.page_size = [], 500
    while True:
        page = await mesh.clinics.ListSlots(request)
        slots.extend(page.slots)
        if not page.next_page_token:
            return slots
        request.page_token = page.next_page_token


async def test_created_clinic_reads_back_with_a_server_assigned_name(mesh):
    created = await mesh.clinics.CreateClinic(
        clinic_request(vaccines=("spikevax", "comirnaty", "spikevax"))
    )

    assert CLINIC.parse(created.name) is not None
    assert list(created.vaccines) == ["comirnaty", "spikevax"]
    assert created.create_time.ToDatetime(tzinfo=UTC) == mesh.clock.now()
    fetched = await mesh.clinics.GetClinic(clin.GetClinicRequest(name=created.name))
    assert fetched == created


async def test_created_slot_reads_back_with_its_clinics_region_and_vaccines(mesh):
    region = unique("region")
    clinic = await make_clinic(mesh, vaccines=("comirnaty", "spikevax"), region=region)
    start = mesh.clock.now() + timedelta(days=3)

    created = await mesh.clinics.CreateSlot(slot_request(clinic, start, capacity=7))

    assert SLOT.parse(created.name)["clinic"] == CLINIC.parse(clinic.name)["clinic"]
    assert created.start_time == to_timestamp(start)
    assert created.end_time == to_timestamp(start + timedelta(minutes=30))
    assert (created.capacity, created.region) == (7, region)
    assert list(created.vaccines) == ["comirnaty", "spikevax"]
    fetched = await mesh.clinics.GetSlot(clin.GetSlotRequest(name=created.name))
    assert fetched == created


async def test_list_clinics_filters_by_region(mesh):
    region = unique("region")
    inside = [await make_clinic(mesh, region=region) for _ in range(2)]
    await make_clinic(mesh, region=unique("region"))

    listed = await mesh.clinics.ListClinics(clin.ListClinicsRequest(region=region))

    assert sorted(c.name for c in listed.clinics) == sorted(c.name for c in inside)
    assert listed.next_page_token == ""


async def test_list_clinics_filters_by_vaccine(mesh):
    vaccine = unique("vaccine")
    offering = await make_clinic(mesh, vaccines=("comirnaty", vaccine))
    await make_clinic(mesh, vaccines=("comirnaty",))

    listed = await mesh.clinics.ListClinics(clin.ListClinicsRequest(vaccine=vaccine))

    assert [c.name for c in listed.clinics] == [offering.name]


async def test_list_slots_of_one_clinic_are_its_own_in_start_order(mesh):
    clinic, neighbour = await make_clinic(mesh), await make_clinic(mesh)
    later = await make_slot(mesh, clinic, days_ahead=4)
    earlier = await make_slot(mesh, clinic, days_ahead=3)
    await make_slot(mesh, neighbour, days_ahead=3)

    listed = await mesh.clinics.ListSlots(clin.ListSlotsRequest(parent=clinic.name))

    assert [s.name for s in listed.slots] == [earlier.name, later.name]


async def test_list_slots_of_every_clinic_filters_by_region_vaccine_and_date(mesh):
    region, vaccine = unique("region"), unique("vaccine")
    both = await make_clinic(mesh, region=region, vaccines=("comirnaty", vaccine))
    other_vaccine = await make_clinic(mesh, region=region)
    other_region = await make_clinic(mesh, vaccines=(vaccine,))
    day_one = await make_slot(mesh, both, days_ahead=5)
    day_two = await make_slot(mesh, both, days_ahead=6)
    await make_slot(mesh, other_vaccine, days_ahead=5)
    await make_slot(mesh, other_region, days_ahead=5)

    everywhere = clin.ListSlotsRequest(parent="clinics/-", region=region)
    assert len(await list_all_slots(mesh, everywhere)) == 3
    by_vaccine = clin.ListSlotsRequest(
        parent="clinics/-", region=region, vaccine=vaccine
    )
    assert [s.name for s in await list_all_slots(mesh, by_vaccine)] == [
        day_one.name,
        day_two.name,
    ]
    by_day = clin.ListSlotsRequest(
        parent="clinics/-",
        region=region,
        vaccine=vaccine,
        date=day_two.start_time.ToDatetime().strftime("%Y-%m-%d"),
    )
    assert [s.name for s in await list_all_slots(mesh, by_day)] == [day_two.name]


async def test_list_slots_pages_chain_without_overlap_until_an_empty_token(mesh):
    region = unique("region")
    clinic = await make_clinic(mesh, region=region)
    created = [await make_slot(mesh, clinic, days_ahead=day) for day in range(1, 6)]
    request = clin.ListSlotsRequest(parent="clinics/-", region=region, page_size=2)

    pages = []
    while True:
        page = await mesh.clinics.ListSlots(request)
        pages.append([s.name for s in page.slots])
        if not page.next_page_token:
            break
        assert page.next_page_token != request.page_token
        request.page_token = page.next_page_token

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [name for p in pages for name in p] == [s.name for s in created]


async def test_create_clinic_retried_with_same_request_id_returns_the_same_clinic(
    mesh,
):
    region, request_id = unique("region"), new_id()

    first = await mesh.clinics.CreateClinic(
        clinic_request(region, request_id=request_id)
    )
    retried = await mesh.clinics.CreateClinic(
        clinic_request(region, request_id=request_id)
    )

    assert retried == first
    listed = await mesh.clinics.ListClinics(clin.ListClinicsRequest(region=region))
    assert [c.name for c in listed.clinics] == [first.name]


async def test_create_slot_retried_with_same_request_id_returns_the_same_slot(mesh):
    clinic = await make_clinic(mesh)
    request = slot_request(clinic, mesh.clock.now() + timedelta(days=2), capacity=4)

    first = await mesh.clinics.CreateSlot(request)
    retried = await mesh.clinics.CreateSlot(request)

    assert retried == first
    listed = await mesh.clinics.ListSlots(clin.ListSlotsRequest(parent=clinic.name))
    assert [s.name for s in listed.slots] == [first.name]
    assert (await availability(mesh, first)).seats.total == 4


async def test_slot_capacity_reaches_inventory_and_follows_updates(mesh):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, capacity=6)

    counts = await availability(mesh, slot)
    assert (counts.seats.total, counts.seats.free) == (6, 6)

    updated = await mesh.clinics.UpdateSlotCapacity(
        clin.UpdateSlotCapacityRequest(name=slot.name, capacity=9, request_id=new_id())
    )

    assert updated.capacity == 9
    fetched = await mesh.clinics.GetSlot(clin.GetSlotRequest(name=slot.name))
    assert fetched.capacity == 9
    counts = await availability(mesh, slot)
    assert (counts.seats.total, counts.seats.free) == (9, 9)
