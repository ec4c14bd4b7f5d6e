"""What a clinic scanner is told: whether a QR code is good and who it is
for, and whether a dose can be recorded against it.

Recording asks inventory to take the dose from the batch first. Inventory
keeps one dose use per appointment, so of two scanners recording the same
appointment at once exactly one is first there; the other learns so from
the use's request id and is told ``ALREADY_ADMINISTERED``. Only then is the
appointment marked ADMINISTERED, with the batch inventory recorded, and the
dose owed to the person's vaccination history until the patient service has
it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from vaxbook.appointment.v1 import vaccination_pb2 as pb
from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.patient.v1 import patient_pb2
from vaxbook.qr.v1 import qr_pb2

from services.appointment.events import Outgoing
from services.appointment.qr_codes import QrIssuer, token_id
from services.appointment.rows import AppointmentRow
from services.appointment.scan_store import ScannedRow, ScanStore
from services.appointment.store import AppointmentStore
from services.common import logs, qr
from services.common.auth import Principal
from services.common.batching import Batcher
from services.common.clock import Clock, to_timestamp
from services.common.errors import DomainError, Unavailable
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream
from services.common.names import APPOINTMENT, CLINIC, HOLD, Person
from services.common.views import personal_data_viewed

log = logging.getLogger(__name__)

Rejection = pb.ScanRejection
# A whole appointment row, or the part of it a scan reads.
Judged = AppointmentRow | ScannedRow
ENDED_STATES = frozenset(
    {"CANCELLED", "CLINIC_CANCELLED", "EXPIRED", "REJECTED", "NO_SHOW"}
)
HISTORY_BATCH = 100
LOOKUP_BATCH = 200
# One lookup at a time: scans arriving meanwhile wait and go in the next
# one, so a busy stream makes few, large reads instead of many small ones.
LOOKUPS_IN_FLIGHT = 1
# What views of a record shown to a scanner are recorded as.
SCAN_RPC = "/vaxbook.appointment.v1.VaccinationService/ScanAppointments"
# Inventory's refusals of a batch, as the scanner shows them.
BATCH_REFUSALS = {
    "BATCH_NOT_FOUND": Rejection.SCAN_REJECTION_BATCH_NOT_FOUND,
    "BATCH_OTHER_CLINIC": Rejection.SCAN_REJECTION_BATCH_OTHER_CLINIC,
    "BATCH_WRONG_VACCINE": Rejection.SCAN_REJECTION_BATCH_WRONG_VACCINE,
    "BATCH_EXPIRED": Rejection.SCAN_REJECTION_BATCH_EXPIRED,
    "BATCH_USED_UP": Rejection.SCAN_REJECTION_BATCH_USED_UP,
}


class Refused(Exception):
    """A scan or a record the scanner must be told no to."""

    def __init__(
        self,
        code: pb.ScanRejection,
        message: str,
        row: Judged | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row

    def reply(self) -> pb.ScanRejected:
        rejected = pb.ScanRejected(code=self.code, message=self.message)
        row = self.row
        if row is not None:
            rejected.appointment = APPOINTMENT.format(appointment=row.id)
            if row.state == "ADMINISTERED" and row.administer_time is not None:
                rejected.administer_time.CopyFrom(to_timestamp(row.administer_time))
                rejected.clinic = CLINIC.format(clinic=row.clinic_id)
        return rejected


@dataclass(frozen=True)
class Station:
    """Where a scanner works and who works it."""

    clinic_id: str
    device_id: str
    viewer: Principal

    @property
    def actor(self) -> str:
        return self.viewer.subject


class Scanning:
    def __init__(
        self,
        store: AppointmentStore,
        scans: ScanStore,
        issuer: QrIssuer,
        inventory,
        patients,
        clock: Clock,
    ) -> None:
        self.store = store
        self.scans = scans
        self.issuer = issuer
        self.inventory = inventory
        self.patients = patients
        self.clock = clock
        # A busy scanner's scans share their reads: one statement for the
        # appointments, one call for the records of those in flight.
        self._rows = Batcher(scans.scanned, LOOKUP_BATCH, LOOKUPS_IN_FLIGHT)
        self._records = Batcher(self._read_records, LOOKUP_BATCH, LOOKUPS_IN_FLIGHT)
        self._views = Batcher(scans.record_views, LOOKUP_BATCH, LOOKUPS_IN_FLIGHT)

    # Scans

    async def scan(self, token: str, station: Station) -> pb.ScanAccepted:
        """Who a QR code is for, or ``Refused`` saying why it is no good."""
        claims = self.verified(token)
        if claims.clinic != CLINIC.format(clinic=station.clinic_id):
            raise Refused(
                Rejection.SCAN_REJECTION_WRONG_CLINIC,
                f"this appointment is at {claims.clinic}, not here",
            )
        row = await self._appointment_of(claims)
        self.check_current(row, claims)
        _check_day(row, self.clock.now())
        [person] = await self.people([row], station.viewer)
        return person

    def verified(self, token: str) -> qr_pb2.QrClaims:
        try:
            return qr.verify(token, self.issuer.public_keys())
        except qr.QrRejected as rejected:
            code = (
                Rejection.SCAN_REJECTION_UNKNOWN_KEY
                if rejected.code == qr.RejectReason.UNKNOWN_KEY
                else Rejection.SCAN_REJECTION_FORGED
            )
            raise Refused(code, rejected.message) from None

    def check_current(self, row: Judged, claims: qr_pb2.QrClaims) -> None:
        """Refuses a code whose appointment is not waiting for its dose, or
        that a newer code replaced."""
        if row.state == "ADMINISTERED":
            raise Refused(
                Rejection.SCAN_REJECTION_ALREADY_ADMINISTERED,
                "this dose was given already",
                row,
            )
        _refuse_ended(row)
        if claims.token_id != token_id(row.id, row.qr_generation):
            raise Refused(
                Rejection.SCAN_REJECTION_REVOKED,
                "this code was replaced by a newer one; ask for the current code",
                row,
            )

    async def people(
        self, rows: list[Judged], viewer: Principal
    ) -> list[pb.ScanAccepted]:
        """Who each appointment is for, with what the staff must check; each
        showing is recorded for the audit trail as a view by ``viewer``."""
        now = self.clock.now()
        await asyncio.gather(
            *(self._views.submit(self._view(row, viewer, now)) for row in rows)
        )
        names = [Person.from_key(row.citizen_id).patient_name for row in rows]
        records = await asyncio.gather(*(self._records.submit(n) for n in names))
        accepted = []
        for row, record in zip(rows, records, strict=True):
            person = Person.from_key(row.citizen_id)
            record = record or patient_pb2.Patient()
            accepted.append(
                pb.ScanAccepted(
                    appointment=APPOINTMENT.format(appointment=row.id),
                    person=person.name,
                    display_name=record.display_name,
                    birth_date=record.birth_date,
                    vaccine=row.vaccine,
                    dose_number=row.dose_number,
                    slot_start_time=to_timestamp(row.slot_start),
                    slot_end_time=to_timestamp(row.slot_end),
                    warnings=[*record.allergies, *record.contraindications],
                )
            )
        return accepted

    def _view(self, row: Judged, viewer: Principal, now: datetime) -> Outgoing:
        person = Person.from_key(row.citizen_id)
        return personal_data_viewed(
            self.scans.events.settings,
            viewer,
            person.patient_name,
            SCAN_RPC,
            now,
            citizen=person.name,
            appointment=APPOINTMENT.format(appointment=row.id),
            clinic=CLINIC.format(clinic=row.clinic_id),
        )

    # Records

    async def record(
        self,
        record: pb.RecordAdministration,
        station: Station,
        request_id: str,
    ) -> pb.AdministrationRecorded:
        """Takes the dose from the batch and marks the appointment
        ADMINISTERED, or ``Refused``."""
        ids = APPOINTMENT.parse(record.appointment)
        row = await self.store.get(ids["appointment"]) if ids else None
        if row is None:
            raise Refused(
                Rejection.SCAN_REJECTION_INVALID,
                f"no appointment {record.appointment!r}",
            )
        if row.clinic_id != station.clinic_id:
            raise Refused(
                Rejection.SCAN_REJECTION_WRONG_CLINIC,
                f"this appointment is at {CLINIC.format(clinic=row.clinic_id)}",
                row,
            )
        # Already administered is told after inventory has been asked, with
        # the use it recorded, so a resent record is answered the same.
        _refuse_ended(row)
        given_at = (
            record.administer_time.ToDatetime(tzinfo=UTC)
            if record.HasField("administer_time")
            else self.clock.now()
        )
        use = await self._take_dose(row, record.batch, given_at, request_id)
        if use.request_id != request_id:
            row = await self._finish(row, use, station) or row
            raise Refused(
                Rejection.SCAN_REJECTION_ALREADY_ADMINISTERED,
                "this dose was recorded already",
                row,
            )
        row = await self._finish(row, use, station, record.vaccinator) or row
        return pb.AdministrationRecorded(
            appointment=APPOINTMENT.format(appointment=row.id),
            batch=use.batch,
            administer_time=use.administer_time,
            vaccinator=row.vaccinator or record.vaccinator,
        )

    async def _take_dose(
        self, row: AppointmentRow, batch: str, given_at: datetime, request_id: str
    ) -> inv.DoseUse:
        batch_name = (
            batch
            if batch.startswith("clinics/")
            else (f"{CLINIC.format(clinic=row.clinic_id)}/batches/{batch}")
        )
        try:
            async with upstream("inventory"):
                return await self.inventory.ConsumeDose(
                    inv.ConsumeDoseRequest(
                        hold=HOLD.format(clinic=row.clinic_id, hold=row.id),
                        batch=batch_name,
                        appointment=APPOINTMENT.format(appointment=row.id),
                        administer_time=to_timestamp(given_at),
                        request_id=request_id,
                    ),
                    timeout=DEFAULT_TIMEOUT_SECONDS,
                )
        except Unavailable:
            raise
        except DomainError as error:
            code = BATCH_REFUSALS.get(error.reason)
            if code is None:
                raise
            raise Refused(code, error.message, row) from None

    async def _finish(
        self,
        row: AppointmentRow,
        use: inv.DoseUse,
        station: Station,
        vaccinator: str = "",
    ) -> AppointmentRow | None:
        """Marks the appointment ADMINISTERED as inventory recorded it, if
        nobody has yet, then hands the dose to the vaccination history."""
        administered = await self.scans.administer(
            row.id,
            use.batch,
            use.administer_time.ToDatetime(tzinfo=UTC),
            vaccinator,
            station.device_id,
            station.actor,
            self.clock.now(),
        )
        if administered is None:
            return await self.store.get(row.id)
        logs.bind(appointment_id=row.id)
        log.info("dose administered", extra={"fields": {"batch": use.batch}})
        await self.add_to_history(administered)
        return administered

    async def add_to_history(self, row: AppointmentRow) -> None:
        """Records the dose in the person's vaccination history; left owed
        for the job when the patient service does not answer."""
        person = Person.from_key(row.citizen_id)
        try:
            async with upstream("patient"):
                await self.patients.RecordVaccination(
                    patient_pb2.RecordVaccinationRequest(
                        parent=person.patient_name,
                        vaccination=patient_pb2.Vaccination(
                            vaccine=row.vaccine,
                            dose_number=row.dose_number,
                            given_date=row.administer_time.date().isoformat(),
                            clinic=CLINIC.format(clinic=row.clinic_id),
                            batch=(row.administer_batch or "").rsplit("/", 1)[-1],
                        ),
                        request_id=f"administered-{row.id}",
                    ),
                    timeout=DEFAULT_TIMEOUT_SECONDS,
                )
        except DomainError as error:
            log.warning("vaccination history deferred: %s", error.reason)
            return
        await self.scans.history_recorded(row.id)

    async def record_owed_history(self) -> int:
        """The job: hands owed doses to the vaccination history."""
        rows = await self.scans.history_owed(HISTORY_BATCH)
        for row in rows:
            await self.add_to_history(row)
        return len(rows)

    # Helpers

    async def _appointment_of(self, claims: qr_pb2.QrClaims) -> ScannedRow:
        ids = APPOINTMENT.parse(claims.appointment)
        row = await self._rows.submit(ids["appointment"]) if ids else None
        if row is None:
            # Signed by us, yet unknown: the code outlived its appointment.
            raise Refused(
                Rejection.SCAN_REJECTION_REVOKED, "this code's appointment is gone"
            )
        return row

    async def _read_records(self, names: list[str]) -> list:
        """The records of ``names`` in their order; ``None`` where a person
        has none."""
        async with upstream("patient"):
            found = await self.patients.BatchGetPatients(
                patient_pb2.BatchGetPatientsRequest(names=sorted(set(names))),
                timeout=DEFAULT_TIMEOUT_SECONDS,
            )
        by_name = {record.name: record for record in found.patients}
        return [by_name.get(name) for name in names]


def _refuse_ended(row: Judged) -> None:
    if row.state in ENDED_STATES:
        raise Refused(
            Rejection.SCAN_REJECTION_CANCELLED,
            f"this appointment did not go ahead ({row.state})",
            row,
        )


def _check_day(row: Judged, now: datetime) -> None:
    """Refuses a code outside the days its slot runs on (UTC)."""
    if not qr.on_slot_day(row.slot_start, row.slot_end, now):
        raise Refused(
            Rejection.SCAN_REJECTION_WRONG_DAY,
            f"this appointment is on {row.slot_start.date().isoformat()}, not today",
            row,
        )
