// The clinic dashboard: a day's slots with live seat counts and their
// appointments, walk-ins, the clinic's batches, cancelling a slot after
// seeing whom it affects, and the eligibility review queue for reviewers.
"use strict";

(() => {
  const { el } = vaxbookDom;
  const api = vaxbookApi;
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 3000;
  const APPOINTMENTS_MAX_AGE_MS = 60000;
  const DAY_MS = 24 * 60 * 60 * 1000;
  const SLOT_STATES = { SLOT_STATE_OPEN: "Open", SLOT_STATE_CANCELLED: "Cancelled" };
  const BATCH_STATES = {
    BATCH_STATE_ACTIVE: "Active",
    BATCH_STATE_EXPIRED: "Expired",
    BATCH_STATE_USED_UP: "Used up",
  };

  const APPOINTMENT_STATES = {
    APPOINTMENT_STATE_PENDING: "Held",
    APPOINTMENT_STATE_CONFIRMED: "Confirmed",
    APPOINTMENT_STATE_CANCELLED: "Cancelled by the citizen",
    APPOINTMENT_STATE_EXPIRED: "Hold expired",
    APPOINTMENT_STATE_REJECTED: "Refused",
    APPOINTMENT_STATE_ADMINISTERED: "Administered",
    APPOINTMENT_STATE_NO_SHOW: "No-show",
    APPOINTMENT_STATE_CLINIC_CANCELLED: "Cancelled by the clinic",
  };

  const state = {
    clinic: "",
    day: "",
    vaccine: "",
    timer: 0,
    cancelling: null,
    appointments: [],
    appointmentsAt: 0,
    counts: null,
  };

  function say(message, isError) {
    $("status").textContent = message;
    $("status").className = isError ? "error" : "";
  }

  async function attempt(action) {
    try {
      await action();
    } catch (error) {
      say("Something went wrong: " + error.message, true);
    }
  }

  function time(timestamp) {
    return new Intl.DateTimeFormat("en-IN", { timeStyle: "short" })
      .format(new Date(timestamp));
  }

  // Choosing the clinic and day

  const params = new URLSearchParams(location.search);
  $("clinic").value = params.get("clinic") || localStorage.getItem("vaxbook.clinic") || "";
  $("day").value = params.get("date") || new Date().toISOString().slice(0, 10);

  $("choose-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.clinic = $("clinic").value.trim();
    state.day = $("day").value;
    state.vaccine = $("vaccine").value.trim();
    localStorage.setItem("vaxbook.clinic", state.clinic);
    $("slots-day").textContent = state.day;
    state.counts = null;
    clearInterval(state.timer);
    attempt(async () => {
      await Promise.all([loadSlots(), loadBatches(), loadReviews()]);
      state.timer = setInterval(() => attempt(loadSlots), REFRESH_MS);
    });
  });

  // Slots, their counts and their appointments

  // Each listing of appointments is audited as staff viewing personal data,
  // so the list is fetched again only when a slot's counts change, or after
  // APPOINTMENTS_MAX_AGE_MS; the counts themselves refresh every REFRESH_MS.
  async function loadSlots() {
    const listed = await api.get("/v1/" + state.clinic + "/slots", {
      date: state.day,
      showCancelled: true,
      pageSize: 500,
    });
    const slots = listed.slots || [];
    const counted = await Promise.all(slots.map(slotRow));
    const counts = counted.map((row) => row.textContent).join("|");
    const stale = Date.now() - state.appointmentsAt > APPOINTMENTS_MAX_AGE_MS;
    if (counts !== state.counts || stale) {
      state.appointments = await dayAppointments();
      state.appointmentsAt = Date.now();
      state.counts = counts;
    }
    const rows = slots.map((slot, index) => [
      counted[index],
      appointmentsRow(slot, state.appointments.filter((a) => a.slot === slot.name)),
    ]);
    $("slots").replaceChildren(...rows.flat());
    $("refreshed").textContent = "Last refreshed " + new Date().toLocaleTimeString();
  }

  // Every appointment of the chosen day (UTC, as slots are listed), a page
  // at a time. The service records each listing in the audit trail.
  async function dayAppointments() {
    const from = new Date(state.day + "T00:00:00Z");
    const query = {
      startTimeFrom: from.toISOString(),
      startTimeBefore: new Date(from.getTime() + DAY_MS).toISOString(),
      pageSize: 500,
    };
    const found = [];
    do {
      const page = await api.get("/v1/" + state.clinic + "/appointments", query);
      found.push(...(page.appointments || []));
      query.pageToken = page.nextPageToken || "";
    } while (query.pageToken);
    return found;
  }

  function appointmentsRow(slot, appointments) {
    const items = appointments.map(appointmentItem);
    if (!items.length) items.push(el("li", {}, "No appointments."));
    return el("tr", { class: "slot-appointments", "data-appointments-of": slot.name },
      el("td", { colspan: 7 },
        el("ul", { class: "cards", "aria-label": "Appointments at " + slotLabel(slot) },
          ...items)));
  }

  function appointmentItem(appointment) {
    const given = appointment.administration;
    return el("li", { "data-appointment": appointment.name },
      el("strong", {}, appointment.citizen), el("br"),
      appointment.vaccine + ", dose " + appointment.doseNumber + ": ",
      el("span", { class: "appointment-state" },
        APPOINTMENT_STATES[appointment.state] || appointment.state),
      given
        ? el("span", {}, ", batch " + given.batch.split("/batches/").pop() +
          " at " + time(given.administerTime))
        : null);
  }

  function slotLabel(slot) {
    return time(slot.startTime) + " – " + time(slot.endTime);
  }

  async function slotRow(slot) {
    const open = slot.state === "SLOT_STATE_OPEN";
    const counts = await api.get("/v1/" + slot.name + "/availability",
      { vaccine: state.vaccine });
    const seats = counts.seats || {};
    const label = slotLabel(slot);
    const action = open
      ? el("button", {
        type: "button", class: "danger",
        "aria-label": "Cancel the slot " + label,
        onclick: () => attempt(() => previewCancel(slot, label)),
      }, "Cancel")
      : el("span", {}, slot.cancelReason || "");
    return el("tr", { "data-slot": slot.name },
      el("td", { "data-label": "Time" }, label),
      el("td", { "data-label": "State" }, SLOT_STATES[slot.state] || slot.state),
      el("td", { "data-label": "Seats" }, String(seats.total || slot.capacity || 0)),
      el("td", { "data-label": "Booked", class: "committed" },
        String(seats.committed || 0)),
      el("td", { "data-label": "Held" }, String(seats.held || 0)),
      el("td", { "data-label": "Free" }, String(seats.free || 0)),
      el("td", {}, action));
  }

  // Cancelling a slot: count whom it affects first, then confirm.

  async function previewCancel(slot, label) {
    const counted = await api.post("/v1/" + slot.name + ":cancel", {
      reason: $("cancel-reason").value.trim(),
      validateOnly: true,
      requestId: api.requestId(),
    });
    const affected = counted.affectedAppointments || 0;
    state.cancelling = slot;
    $("cancel-title").textContent = "Cancel the slot " + label + "?";
    $("cancel-impact").textContent = affected === 1
      ? "This cancels 1 citizen's appointment; they will get a rebooking offer."
      : "This cancels " + affected + " citizens' appointments; each will get " +
        "a rebooking offer.";
    $("cancel-panel").hidden = false;
    $("cancel-title").focus();
  }

  $("cancel-confirm").addEventListener("click", () => {
    attempt(async () => {
      const cancelled = await api.post("/v1/" + state.cancelling.name + ":cancel", {
        reason: $("cancel-reason").value.trim(),
        requestId: api.requestId(),
      });
      $("cancel-panel").hidden = true;
      state.cancelling = null;
      say("Slot cancelled: " + (cancelled.affectedAppointments || 0) +
        " appointments cancelled, " + (cancelled.rebookingOffers || 0) +
        " rebooking offers made.");
      await loadSlots();
    });
  });

  $("cancel-keep").addEventListener("click", () => {
    $("cancel-panel").hidden = true;
    state.cancelling = null;
  });

  // Walk-ins: booked on the slot running now; every refusal reason shown.

  $("walk-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(bookWalkIn);
  });

  async function bookWalkIn() {
    if (!state.clinic) {
      showWalkIn("Choose the clinic above first.", true, []);
      return;
    }
    let booked;
    try {
      booked = await api.post("/v1/" + state.clinic + "/walkIns", {
        citizen: $("walk-in-person").value.trim(),
        vaccine: $("walk-in-vaccine").value.trim(),
        doseNumber: Number($("walk-in-dose").value),
        requestId: api.requestId(),
      });
    } catch (error) {
      if (!(error instanceof api.ApiError)) throw error;
      showWalkIn("Not booked: " + error.message, true, refusalItems(error));
      return;
    }
    const reasons = (booked.reasons || []).map((r) =>
      el("li", { "data-code": r.code }, r.code + ": " + r.message));
    showWalkIn(walkInSummary(booked), booked.state !== "APPOINTMENT_STATE_CONFIRMED",
      reasons);
    await loadSlots();
  }

  function walkInSummary(booked) {
    const label = APPOINTMENT_STATES[booked.state] || booked.state;
    const when = time(booked.slotStartTime) + " – " + time(booked.slotEndTime);
    if (booked.state === "APPOINTMENT_STATE_CONFIRMED") {
      return "Booked and confirmed for the slot " + when + " (" + booked.name + ").";
    }
    if (booked.state === "APPOINTMENT_STATE_PENDING") {
      return "Held for the slot " + when + " while eligibility is still being " +
        "checked; not confirmed yet (" + booked.name + ").";
    }
    return label + ": not booked (" + booked.name + ").";
  }

  function refusalItems(error) {
    const items = error.violations.map((v) =>
      el("li", { "data-field": v.field }, v.field + ": " + v.description));
    if (error.reason) items.unshift(el("li", { "data-code": error.reason }, error.reason));
    return items;
  }

  function showWalkIn(message, isRefusal, items) {
    $("walk-in-outcome").replaceChildren(
      el("p", { class: isRefusal ? "error" : "ok" }, message),
      items.length ? el("ul", { class: "reasons" }, ...items) : null);
  }

  // Batches

  async function loadBatches() {
    const listed = await api.get("/v1/" + state.clinic + "/batches", { pageSize: 500 });
    const rows = (listed.batches || []).map((batch) => el("tr", {},
      el("td", { "data-label": "Batch" }, batch.name.split("/batches/")[1]),
      el("td", { "data-label": "Vaccine" }, batch.vaccine),
      el("td", { "data-label": "Last day" }, batch.expireDate),
      el("td", { "data-label": "Doses left" }, String(batch.dosesLeft || 0)),
      el("td", { "data-label": "State" }, BATCH_STATES[batch.state] || batch.state)));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 5 }, "No batches.")));
    $("batches").replaceChildren(...rows);
  }

  // The review queue, shown only to those allowed to read it.

  async function loadReviews() {
    let listed;
    try {
      listed = await api.get("/v1/reviewCases", { state: "REVIEW_STATE_OPEN" });
    } catch (error) {
      if (error.status === 403) {
        $("reviews-section").hidden = true;
        return;
      }
      throw error;
    }
    $("reviews-section").hidden = false;
    const items = (listed.reviewCases || []).map(reviewItem);
    if (!items.length) items.push(el("li", {}, "No open reviews."));
    $("reviews").replaceChildren(...items);
  }

  function reviewItem(review) {
    const note = el("input", { "aria-label": "Note for " + review.appointment });
    const decide = (verb) => attempt(async () => {
      await api.post("/v1/" + review.name + ":" + verb, {
        note: note.value.trim(),
        requestId: api.requestId(),
      });
      say("Review " + (verb === "approve" ? "approved." : "rejected."));
      await loadReviews();
    });
    return el("li", {},
      el("strong", {}, review.appointment), el("br"),
      review.vaccine + ", dose " + review.doseNumber + ": " + review.reason,
      note,
      el("div", { class: "row" },
        el("button", { type: "button", onclick: () => decide("approve") }, "Approve"),
        el("button", { type: "button", class: "danger",
          onclick: () => decide("reject") }, "Reject")));
  }

  if ($("clinic").value) $("choose-form").requestSubmit();
})();
