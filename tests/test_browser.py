"""The citizen portal and the clinic dashboard in a real browser: Debian's
chromium, driven headless by Playwright, against the gateway in front of the
test mesh. Each journey leaves a screenshot in ``test-artifacts/screenshots``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import expect as expect_page
from vaxbook.appointment.v1 import appointment_pb2 as appt

from gateway.app import create_app
from gateway.server import RunningGateway, start_in_loop
from gateway.session import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from services.auth.identity import Contact
from services.common.auth import Role
from services.common.config import Settings
from tests.mesh import Mesh, booker, make_clinic, make_slot, new_id, reserve_request
from tests.test_gateway import gateway_settings, national_id

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
# The narrowest phone the pages are made for.
PHONE_VIEWPORT = {"width": 360, "height": 800}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
async def site(mesh: Mesh, settings: Settings) -> AsyncIterator[RunningGateway]:
    """The gateway, serving the pages and the API, on a real server."""
    ports = {name: f"127.0.0.1:{s.port}" for name, s in mesh.servers.items()}
    app = create_app(gateway_settings(settings, **ports), clock=mesh.clock)
    running = await start_in_loop(app)
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context(viewport=PHONE_VIEWPORT)
    yield opened
    await opened.close()


# Steps


async def sign_in_on_the_portal(mesh: Mesh, page: Page, site: RunningGateway) -> str:
    """Signs a new citizen up and in through the portal's form; their id."""
    phone = f"+9198{secrets.randbelow(10**8):08d}"
    await page.goto(site.url + "/")
    await page.get_by_label("National ID").fill(national_id())
    await page.get_by_label("Phone number").fill(phone)
    await page.get_by_role("button", name="Send me a code").click()
    await expect_page(page.get_by_label("One-time code")).to_be_visible()

    sender = mesh.servicers["auth"].sign_in.sender
    await page.get_by_label("One-time code").fill(
        sender.latest_code(Contact("phone", phone))
    )
    await page.get_by_role("button", name="Sign in", exact=True).click()
    subject = page.locator("#subject")
    await expect_page(subject).to_contain_text("citizens/")
    return (await subject.inner_text()).removeprefix("citizens/")


async def sign_in_staff(context: BrowserContext, mesh: Mesh, site, clinic) -> None:
    """Puts a clinic staff session in the browser, as signing in would."""
    metadata = mesh.token(f"staffAccounts/{new_id()}", Role.CLINIC_STAFF, [clinic.name])
    token = dict(metadata)["authorization"].removeprefix("Bearer ")
    await context.add_cookies(
        [
            {"name": SESSION_COOKIE, "value": token, "url": site.url},
            {"name": CSRF_COOKIE, "value": csrf_token(token), "url": site.url},
        ]
    )


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


# Serving


@pytest.mark.parametrize(
    "path",
    ["/", "/dashboard", "/static/portal/portal.js", "/static/shared/vaxbook.css"],
)
async def test_the_pages_and_their_files_allow_only_their_own_origin(site, path):
    async with httpx.AsyncClient(base_url=site.url) as client:
        answer = await client.get(path)

    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "http" not in policy


async def test_the_pages_load_no_script_or_style_from_elsewhere(site):
    async with httpx.AsyncClient(base_url=site.url) as client:
        pages = [(await client.get(path)).text for path in ("/", "/dashboard")]

    for page in pages:
        sources = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert all(s.startswith(("/", "#")) for s in sources), sources
        assert "<script>" not in page
        assert "style=" not in page


async def test_a_missing_static_file_is_404(site):
    async with httpx.AsyncClient(base_url=site.url) as client:
        answer = await client.get("/static/portal/nothing.js")

    assert answer.status_code == 404


# Journeys


@needs_chromium
async def test_a_citizen_signs_in_holds_confirms_sees_the_qr_code_and_cancels(
    mesh, site, context
):
    region = f"web-{new_id()[:8]}"
    clinic = await make_clinic(mesh, region=region)
    slot = await make_slot(mesh, clinic)
    page = await context.new_page()

    await sign_in_on_the_portal(mesh, page, site)
    # A new citizen writes their health record first: eligibility needs it.
    await page.get_by_label("Name shown to the clinic").fill("Asha Verma")
    await page.get_by_label("Date of birth").fill("1990-05-01")
    await page.get_by_label("Region you live in").fill(region)
    await page.get_by_role("button", name="Save the record").click()
    await expect_page(page.locator("#status")).to_contain_text("record is saved")
    # The vaccines an adult of the north may book, each with its answer.
    await page.get_by_role("button", name="Check my vaccines").click()
    comirnaty = page.locator('#vaccines li[data-vaccine="comirnaty"]')
    await expect_page(comirnaty).to_contain_text("You can book this dose.")

    await page.get_by_label("Region", exact=True).fill(region)
    await page.get_by_role("button", name="Search").click()
    found = page.locator(f'li[data-slot="{slot.name}"]')
    await expect_page(found).to_contain_text("10 seats free")
    await found.get_by_role("button").click()

    await expect_page(page.locator("#eligibility")).to_contain_text("eligible")
    await expect_page(page.get_by_role("timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await page.get_by_role("button", name="Confirm booking").click()

    await expect_page(page.locator("#qr-image svg")).to_be_visible()
    download = page.get_by_role("link", name="Download the QR code")
    assert (await download.get_attribute("href")).startswith("blob:")
    await screenshot(page, "portal")

    listed = page.locator("#appointments li").first
    await expect_page(listed).to_contain_text("Confirmed")
    # Rescheduling lists the slots it may move to; the old booking stays
    # confirmed until the new one is.
    later = await make_slot(mesh, clinic, days_ahead=4)
    await listed.get_by_role("button", name="Reschedule").click()
    moving_to = page.locator(f'li[data-slot="{later.name}"]')
    await moving_to.get_by_role("button", name="Move my appointment here").click()
    await expect_page(page.locator("#status")).to_contain_text("appointment is moved")
    await expect_page(
        page.locator("#appointments li", has_text="Moved to another slot")
    ).to_have_count(1)

    confirmed = page.locator("#appointments li", has_text="Confirmed")
    name = await confirmed.get_attribute("data-appointment")
    moved = page.locator(f'#appointments li[data-appointment="{name}"]')
    await moved.get_by_role("button", name="Cancel appointment").click()
    await expect_page(moved).to_contain_text("Cancelled by you")


@needs_chromium
async def test_staff_see_a_booking_cancel_its_slot_and_the_citizen_is_offered_a_seat(
    mesh, site, browser, context
):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, days_ahead=2)
    await make_slot(mesh, clinic, days_ahead=3)
    citizen_page = await context.new_page()
    citizen = await sign_in_on_the_portal(mesh, citizen_page, site)
    await booker(mesh, citizen=citizen)

    staff = await browser.new_context(viewport=PHONE_VIEWPORT)
    await sign_in_staff(staff, mesh, site, clinic)
    dashboard = await staff.new_page()
    start = slot.start_time.ToDatetime().date().isoformat()
    await dashboard.goto(f"{site.url}/dashboard?clinic={clinic.name}&date={start}")
    booked = dashboard.locator(f'tr[data-slot="{slot.name}"] .committed')
    await expect_page(booked).to_have_text("0")

    reserved = await mesh.appointments.ReserveAppointment(
        reserve_request(slot, citizen)
    )
    await mesh.appointments.ConfirmAppointment(
        appt.ConfirmAppointmentRequest(name=reserved.name, request_id=new_id())
    )
    await expect_page(booked).to_have_text("1")
    listed = dashboard.locator(f'li[data-appointment="{reserved.name}"]')
    await expect_page(listed).to_contain_text(f"citizens/{citizen}")
    await expect_page(listed).to_contain_text("dose 1: Confirmed")

    row = dashboard.locator(f'tr[data-slot="{slot.name}"]')
    await row.get_by_role("button", name="Cancel").click()
    await expect_page(dashboard.locator("#cancel-impact")).to_contain_text(
        "1 citizen's appointment"
    )
    await screenshot(dashboard, "dashboard")
    await dashboard.get_by_role("button", name="Yes, cancel the slot").click()
    await expect_page(dashboard.locator("#status")).to_contain_text("1 rebooking")
    await staff.close()

    await citizen_page.get_by_role("button", name="Refresh").click()
    listed = citizen_page.locator(f'li[data-appointment="{reserved.name}"]')
    await expect_page(listed).to_contain_text("Cancelled by the clinic")
    await listed.get_by_role("button", name="See the new seat offered").click()
    await expect_page(
        listed.get_by_role("button", name="Take this seat")
    ).to_be_visible()
    await screenshot(citizen_page, "portal-rebooking-offer")


@needs_chromium
async def test_staff_book_a_walk_in_and_see_a_second_one_refused_with_its_reason(
    mesh, site, browser
):
    clinic = await make_clinic(mesh)
    slot = await make_slot(mesh, clinic, start=mesh.clock.now() - timedelta(minutes=5))
    citizen = await booker(mesh)
    staff = await browser.new_context(viewport=PHONE_VIEWPORT)
    await sign_in_staff(staff, mesh, site, clinic)
    dashboard = await staff.new_page()
    day = slot.start_time.ToDatetime().date().isoformat()
    await dashboard.goto(f"{site.url}/dashboard?clinic={clinic.name}&date={day}")
    await expect_page(dashboard.locator(f'tr[data-slot="{slot.name}"]')).to_be_visible()

    await dashboard.get_by_label("Person").fill(f"citizens/{citizen}")
    await dashboard.get_by_role("button", name="Book the walk-in").click()
    outcome = dashboard.locator("#walk-in-outcome")
    await expect_page(outcome).to_contain_text("Booked and confirmed")
    walked_in = dashboard.locator(f'[data-appointments-of="{slot.name}"] li').first
    await expect_page(walked_in).to_contain_text(f"citizens/{citizen}")
    await expect_page(walked_in).to_contain_text("Confirmed")

    await dashboard.get_by_role("button", name="Book the walk-in").click()
    await expect_page(outcome).to_contain_text("Not booked")
    await expect_page(outcome.locator("li[data-code]")).to_have_count(1)
    await screenshot(dashboard, "dashboard-walk-in")
    await staff.close()
