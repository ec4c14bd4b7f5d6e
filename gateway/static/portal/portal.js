// The citizen portal: sign in with a one-time code, find a slot, hold it,
// confirm it, show the QR code, and look after appointments, rebooking
// offers and family members.
"use strict";

(() => {
  const { el } = vaxbookDom;
  const api = vaxbookApi;
  const $ = (id) => document.getElementById(id);
  const LIVE = ["APPOINTMENT_STATE_PENDING", "APPOINTMENT_STATE_CONFIRMED"];

  const state = {
    language: localStorage.getItem("vaxbook.language") || "en",
    subject: localStorage.getItem("vaxbook.subject") || "",
    challenge: "",
    held: null,
    // The CONFIRMED appointment the citizen is moving to a slot they pick.
    moving: null,
    timer: 0,
    appointments: [],
    dependants: [],
    clinicNames: new Map(),
  };

  function t(key, ...values) {
    const entry = PORTAL_STRINGS[state.language][key];
    return typeof entry === "function" ? entry(...values) : entry;
  }

  function when(timestamp) {
    const locale = state.language === "hi" ? "hi-IN" : "en-IN";
    return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" })
      .format(new Date(timestamp));
  }

  function say(message, isError) {
    const status = $("status");
    status.textContent = message;
    status.className = isError ? "error" : "";
  }

  // Runs an action, showing its failure instead of throwing it.
  async function attempt(action) {
    try {
      await action();
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) forgetSession();
      say(t("failed", error.message), true);
    }
  }

  // Language

  function applyLanguage() {
    document.documentElement.lang = state.language;
    $("language").value = state.language;
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    renderPeople();
    renderAppointments();
    renderDependants();
    if (state.held) renderHold();
  }

  $("language").addEventListener("change", (event) => {
    state.language = event.target.value;
    localStorage.setItem("vaxbook.language", state.language);
    applyLanguage();
  });

  // Signing in and out

  $("start-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const nationalId = $("national-id").value.trim();
      const phone = $("phone").value.trim();
      if (phone) await signUp(nationalId, phone);
      const challenge = await api.post("/v1/signInChallenges", {
        nationalId,
        requestId: api.requestId(),
      });
      state.challenge = challenge.name;
      $("code-sent").textContent = t("codeSent", challenge.maskedDestination);
      $("code-form").hidden = false;
      $("code").focus();
    });
  });

  async function signUp(nationalId, phoneNumber) {
    try {
      await api.post("/v1/citizens:signUp", {
        nationalId,
        contact: { phoneNumber },
        preferredLanguage: state.language,
        requestId: api.requestId(),
      });
    } catch (error) {
      // Already signed up: signing in is all that is left to do.
      if (error.status !== 409) throw error;
    }
  }

  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const token = await api.post("/v1/" + state.challenge + ":complete", {
        code: $("code").value.trim(),
        requestId: api.requestId(),
      });
      state.subject = token.subject;
      localStorage.setItem("vaxbook.subject", token.subject);
      $("start-form").reset();
      $("code-form").reset();
      $("code-form").hidden = true;
      say("");
      await showSignedIn();
    });
  });

  $("sign-out").addEventListener("click", () => {
    attempt(async () => {
      await api.post("/v1/signOut");
      forgetSession();
    });
  });

  function forgetSession() {
    localStorage.removeItem("vaxbook.subject");
    state.subject = "";
    stopCountdown();
    $("signed-in").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
  }

  async function showSignedIn() {
    $("sign-in").hidden = true;
    $("signed-in").hidden = false;
    $("sign-out").hidden = false;
    $("subject").textContent = state.subject;
    await loadDependants();
    await loadRecord();
    await loadAppointments();
  }

  // The health record of the chosen person

  function recordPath() {
    return "/v1/" + $("record-person").value + "/patient";
  }

  function commaList(text) {
    return text.split(",").map((item) => item.trim().toLowerCase()).filter(Boolean);
  }

  async function loadRecord() {
    let record = {};
    try {
      record = await api.get(recordPath());
    } catch (error) {
      if (!(error instanceof api.ApiError && error.status === 404)) throw error;
    }
    $("record-name").value = record.displayName || "";
    $("record-birth").value = record.birthDate || "";
    $("record-region").value = record.region || $("region").value;
    $("record-allergies").value = (record.allergies || []).join(", ");
    $("record-conditions").value = (record.contraindications || []).join(", ");
    $("record-consent").checked = Boolean(record.guardianConsent);
  }

  $("record-person").addEventListener("change", () => attempt(loadRecord));

  // The vaccines the chosen person may book, each judged by the rules in
  // force for the next dose of it (doses given so far come from the record).

  $("check-vaccines").addEventListener("click", () => attempt(checkVaccines));

  async function checkVaccines() {
    const person = $("record-person").value;
    const [rules, record] = await Promise.all([
      api.get("/v1/ruleSets/current"),
      api.get("/v1/" + person + "/patient"),
    ]);
    const vaccines = JSON.parse(rules.rulesJson).vaccines;
    const given = record.vaccinations || [];
    const items = await Promise.all(
      Object.entries(vaccines).map(async ([code, rule]) => {
        const dose = given.filter((v) => v.vaccine === code).length + 1;
        const decision = await api.post("/v1/eligibility:check", {
          patient: person + "/patient",
          vaccine: code,
          doseNumber: dose,
          appointmentTime: new Date().toISOString(),
        });
        return vaccineItem(code, rule.name || code, dose, decision);
      }),
    );
    $("vaccines").replaceChildren(...items);
  }

  function vaccineItem(code, name, dose, decision) {
    const eligible = decision.outcome !== "OUTCOME_NOT_ELIGIBLE";
    const item = el("li", { "data-vaccine": code },
      el("strong", {}, t("doseOf", name, dose)),
      el("p", {}, eligible ? t("canBook") : t("cannotBook")));
    if (eligible) {
      item.append(el("button", {
        type: "button",
        onclick: () => {
          $("vaccine").value = code;
          $("dose").value = String(dose);
          $("person").value = $("record-person").value;
          $("find-form").requestSubmit();
        },
      }, t("findFor", name)));
    } else {
      item.append(el("ul", {}, ...(decision.failures || []).map(
        (failure) => el("li", {}, failure.message))));
    }
    return item;
  }

  $("record-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const person = $("record-person").value;
      await api.patch(
        recordPath(),
        {
          name: person + "/patient",
          displayName: $("record-name").value.trim(),
          birthDate: $("record-birth").value,
          region: $("record-region").value.trim(),
          allergies: commaList($("record-allergies").value),
          contraindications: commaList($("record-conditions").value),
          guardianConsent: $("record-consent").checked,
        },
        { allowMissing: true, requestId: api.requestId() },
      );
      say(t("recordSaved"));
    });
  });

  // Finding a slot

  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(findSlots);
  });

  async function findSlots() {
    $("slots").replaceChildren();
    $("slots-summary").textContent = t("searching");
    const vaccine = $("vaccine").value.trim();
    const listed = await api.get("/v1/clinics/-/slots", {
      region: $("region").value.trim(),
      vaccine,
      startTimeFrom: new Date().toISOString(),
      pageSize: 50,
    });
    const slots = listed.slots || [];
    const items = await Promise.all(slots.map((slot) => slotItem(slot, vaccine)));
    $("slots").replaceChildren(...items);
    $("slots-summary").textContent = slots.length
      ? t("slotsFound", slots.length)
      : t("noSlots");
  }

  async function slotItem(slot, vaccine) {
    const clinic = slot.name.split("/slots/")[0];
    const [name, availability] = await Promise.all([
      clinicName(clinic),
      api.get("/v1/" + slot.name + "/availability", { vaccine }),
    ]);
    const free = Math.min(availability.seats.free || 0, availability.doses.free || 0);
    const label = state.moving ? t("moveHere") : t("book");
    const hold = el("button", {
      type: "button",
      disabled: free === 0,
      "aria-label": label + ": " + name + ", " + when(slot.startTime),
      onclick: () => attempt(() => state.moving
        ? reschedule(state.moving, slot) : reserve(slot, vaccine)),
    }, label);
    return el("li", { "data-slot": slot.name },
      el("strong", {}, name), el("br"),
      when(slot.startTime), " – ", when(slot.endTime), el("br"),
      el("span", { class: "seats" }, t("seatsFree", free)), el("br"),
      hold);
  }

  async function clinicName(clinic) {
    if (!state.clinicNames.has(clinic)) {
      const found = await api.get("/v1/" + clinic);
      state.clinicNames.set(clinic, found.displayName || clinic);
    }
    return state.clinicNames.get(clinic);
  }

  // Holding, eligibility and confirming

  async function reserve(slot, vaccine) {
    const appointment = await api.post("/v1/appointments:reserve", {
      citizen: $("person").value,
      slot: slot.name,
      vaccine,
      doseNumber: Number($("dose").value),
      requestId: api.requestId(),
    });
    showHold(appointment);
    await Promise.all([loadAppointments(), findSlots()]);
  }

  function showHold(appointment) {
    // The hold's length, counted on this device's monotonic clock, so a
    // device whose clock is wrong still shows the right time left.
    const since = appointment.updateTime || appointment.createTime;
    const ttl = Date.parse(appointment.holdExpireTime) - Date.parse(since);
    state.held = { appointment, deadline: performance.now() + ttl };
    $("hold").hidden = false;
    $("qr").hidden = true;
    renderHold();
    stopCountdown();
    if (appointment.state === "APPOINTMENT_STATE_PENDING") {
      tick();
      state.timer = setInterval(tick, 1000);
    }
    $("hold-title").focus();
  }

  function renderHold() {
    const { appointment } = state.held;
    $("hold-title").setAttribute("tabindex", "-1");
    $("hold-details").textContent = t("doseOf", appointment.vaccine,
      appointment.doseNumber) + " · " + when(appointment.slotStartTime);
    const pending = appointment.state === "APPOINTMENT_STATE_PENDING";
    $("hold-live").hidden = !pending;
    $("confirm").disabled = !pending;
    $("release").disabled = !pending;
    $("eligibility").replaceChildren(...eligibilityAnswer(appointment));
  }

  function eligibilityAnswer(appointment) {
    const reasons = appointment.reasons || [];
    switch (appointment.eligibility) {
      case "ELIGIBILITY_STATE_PASSED":
        return [el("p", { class: "ok" }, t("eligible"))];
      case "ELIGIBILITY_STATE_PROVISIONAL":
        return [el("p", {}, t("provisional"))];
      case "ELIGIBILITY_STATE_FAILED":
        return [
          el("p", { class: "error" }, t("notEligible")),
          el("ul", { class: "reasons" },
            ...reasons.map((r) => el("li", { "data-code": r.code }, r.message))),
        ];
      default:
        return [el("p", {}, t("checking"))];
    }
  }

  function tick() {
    const left = Math.max(0, Math.round((state.held.deadline - performance.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    $("countdown").textContent = minutes + ":" + seconds;
    // Screen readers hear each whole minute and the last half minute, not
    // every second.
    if (left === 0) {
      stopCountdown();
      $("confirm").disabled = true;
      $("countdown-announce").textContent = t("holdExpired");
      say(t("holdExpired"), true);
    } else if (left % 60 === 0 || left === 30) {
      $("countdown-announce").textContent = left === 30
        ? t("secondsLeft", 30) : t("minutesLeft", minutes);
    }
  }

  function stopCountdown() {
    clearInterval(state.timer);
    state.timer = 0;
  }

  $("confirm").addEventListener("click", () => {
    attempt(async () => {
      const name = state.held.appointment.name;
      const confirmed = await api.post("/v1/" + name + ":confirm",
        { requestId: api.requestId() });
      stopCountdown();
      state.held = null;
      $("hold").hidden = true;
      say(t("confirmedNow"));
      await showQr(confirmed.name);
      await loadAppointments();
    });
  });

  $("release").addEventListener("click", () => {
    attempt(async () => {
      await cancel(state.held.appointment.name);
      stopCountdown();
      state.held = null;
      $("hold").hidden = true;
    });
  });

  async function showQr(name) {
    const code = await api.get("/v1/" + name + "/qrCode");
    const image = vaxbookDom.svg(code.svg);
    image.setAttribute("role", "img");
    image.setAttribute("aria-label", t("qrTitle"));
    $("qr-image").replaceChildren(image);
    const link = $("qr-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = vaxbookDom.blobUrl(code.png, "image/png");
    $("qr").hidden = false;
    $("qr-title").setAttribute("tabindex", "-1");
    $("qr-title").focus();
  }

  // Appointments and rebooking offers

  $("refresh").addEventListener("click", () => attempt(loadAppointments));
  $("person").addEventListener("change", () => {
    state.moving = null;
    attempt(loadAppointments);
  });

  async function loadAppointments() {
    const person = $("person").value || state.subject;
    const listed = await api.get("/v1/" + person + "/appointments");
    state.appointments = listed.appointments || [];
    renderAppointments();
  }

  function renderAppointments() {
    if (!state.subject) return;
    const items = state.appointments.map(appointmentItem);
    if (!items.length) items.push(el("li", {}, t("noAppointments")));
    $("appointments").replaceChildren(...items);
  }

  function appointmentItem(appointment) {
    const actions = el("div", { class: "row" });
    if (LIVE.includes(appointment.state)) {
      actions.append(el("button", {
        type: "button", class: "danger",
        onclick: () => attempt(async () => {
          await cancel(appointment.name);
          say(t("cancelledNow"));
        }),
      }, t("cancel")));
    }
    if (appointment.state === "APPOINTMENT_STATE_CONFIRMED") {
      actions.append(el("button", {
        type: "button", class: "secondary",
        onclick: () => attempt(() => showQr(appointment.name)),
      }, t("showQr")));
      actions.append(el("button", {
        type: "button", class: "secondary",
        onclick: () => attempt(() => pickNewSlot(appointment)),
      }, t("reschedule")));
    }
    const offer = el("div", { class: "offer", "aria-live": "polite" });
    if (appointment.rebookingOffer) {
      actions.append(el("button", {
        type: "button",
        onclick: () => attempt(() => showOffer(appointment.rebookingOffer, offer)),
      }, t("seeOffer")));
    }
    const stateName = appointment.endReason === "RESCHEDULED"
      ? t("movedAway")
      : t("states")[appointment.state] || appointment.state;
    return el("li", { "data-appointment": appointment.name },
      el("strong", {}, t("doseOf", appointment.vaccine, appointment.doseNumber)),
      el("br"), when(appointment.slotStartTime), el("br"),
      el("span", { class: "state" }, stateName), actions, offer);
  }

  async function cancel(name) {
    await api.post("/v1/" + name + ":cancel", { requestId: api.requestId() });
    await loadAppointments();
  }

  // Rescheduling: the slot search lists where the appointment can move.

  async function pickNewSlot(appointment) {
    state.moving = appointment;
    $("vaccine").value = appointment.vaccine;
    await findSlots();
    say(t("pickNewSlot", when(appointment.slotStartTime)));
    $("slots-summary").setAttribute("tabindex", "-1");
    $("slots-summary").focus();
  }

  async function reschedule(appointment, slot) {
    await api.post("/v1/" + appointment.name + ":reschedule", {
      slot: slot.name,
      requestId: api.requestId(),
    });
    state.moving = null;
    await Promise.all([loadAppointments(), findSlots()]);
    say(t("rescheduledNow", when(slot.startTime)));
  }

  async function showOffer(name, into) {
    const offer = await api.get("/v1/" + name);
    const answer = (verb) => attempt(async () => {
      await api.post("/v1/" + name + ":" + verb, { requestId: api.requestId() });
      await loadAppointments();
      say(t(verb === "accept" ? "offerAccepted" : "offerDeclined"));
    });
    const parts = [el("p", {}, t("offerText", when(offer.slotStartTime),
      when(offer.expireTime)))];
    if (offer.state === "REBOOKING_OFFER_STATE_OPEN") {
      parts.push(el("div", { class: "row" },
        el("button", { type: "button", onclick: () => answer("accept") }, t("accept")),
        el("button", { type: "button", class: "secondary",
          onclick: () => answer("decline") }, t("decline"))));
    } else {
      const outcome = {
        REBOOKING_OFFER_STATE_ACCEPTED: "offerAccepted",
        REBOOKING_OFFER_STATE_DECLINED: "offerDeclined",
        REBOOKING_OFFER_STATE_LAPSED: "offerLapsed",
      }[offer.state];
      if (outcome) parts.push(el("p", {}, t(outcome)));
    }
    into.replaceChildren(...parts);
  }

  // Family members

  async function loadDependants() {
    const listed = await api.get("/v1/" + state.subject + "/dependants");
    state.dependants = listed.dependants || [];
    renderDependants();
    renderPeople();
  }

  function renderDependants() {
    const items = state.dependants.map((d) => el("li", {}, d.displayName + " · " +
      t(relationshipKey(d.relationship))));
    if (!items.length) items.push(el("li", {}, t("noDependants")));
    $("dependants").replaceChildren(...items);
  }

  function relationshipKey(relationship) {
    return (relationship || "RELATIONSHIP_OTHER").replace("RELATIONSHIP_", "")
      .toLowerCase();
  }

  function renderPeople() {
    for (const select of [$("person"), $("record-person")]) {
      const chosen = select.value;
      const options = [el("option", { value: state.subject }, t("me"))];
      for (const d of state.dependants) {
        options.push(el("option", { value: d.name }, d.displayName));
      }
      select.replaceChildren(...options);
      if (chosen) select.value = chosen;
    }
  }

  $("dependant-form").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const displayName = $("dependant-name").value.trim();
      const query = new URLSearchParams({ requestId: api.requestId() });
      await api.post("/v1/" + state.subject + "/dependants?" + query, {
        displayName,
        relationship: $("relationship").value,
      });
      $("dependant-form").reset();
      say(t("dependantAdded", displayName));
      await loadDependants();
    });
  });

  applyLanguage();
  if (state.subject && api.signedIn()) attempt(showSignedIn);
})();
