"""The REST gateway in front of the real services: routes from the protos'
``google.api.http`` options, proto JSON both ways, errors as
``google.rpc.Status``, idempotency keys, the session cookie and its CSRF
check, and the OpenAPI document. A small echo service, described in the test
itself, shows that an annotated RPC needs no gateway change to be reached."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import httpx
import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor, ServiceDescriptor
from openapi_spec_validator import validate
from starlette.middleware import Middleware
from stdnum import verhoeff
from vaxbook.clinic.v1 import clinic_pb2 as clin

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.descriptors import vaxbook_services
from gateway.limits import rate_limiting
from gateway.middleware import matched_route
from gateway.ratelimit import RateLimitSettings
from gateway.routes import http_rules
from gateway.server import RunningGateway, start_in_loop
from gateway.session import CSRF_COOKIE, SESSION_COOKIE
from services.auth.identity import Contact
from services.common.auth import ACCESS_TOKEN_TTL_SECONDS
from services.common.config import Settings
from tests.mesh import Mesh, booker, make_clinic, make_slot, new_id

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"

# Fixtures: the gateway in front of the test mesh, and a client per test.


def gateway_settings(settings: Settings, **addresses: str) -> GatewaySettings:
    return GatewaySettings(
        host="127.0.0.1",
        port=0,
        service_addrs={**settings.service_addrs, **addresses},
        deadline_seconds=5.0,
    )


@pytest.fixture(scope="module")
async def gateway(mesh: Mesh, settings: Settings) -> AsyncIterator[RunningGateway]:
    """The gateway on a real uvicorn server, lifespan and all."""
    ports = {name: f"127.0.0.1:{s.port}" for name, s in mesh.servers.items()}
    app = create_app(gateway_settings(settings, **ports), clock=mesh.clock)
    running = await start_in_loop(app)
    yield running
    await running.stop()


@pytest.fixture
async def client(gateway: RunningGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as opened:
        yield opened


# Builders


def bearer(mesh: Mesh, citizen: str) -> dict[str, str]:
    """An ``Authorization`` header for ``citizens/{citizen}``."""
    return dict(mesh.token(f"citizens/{citizen}"))


def reservation(slot: clin.Slot, person: str) -> dict:
    """A reservation body in lowerCamel proto JSON; ``person`` is a citizen's
    id or a dependant's full name."""
    return {
        "citizen": person if "/" in person else f"citizens/{person}",
        "slot": slot.name,
        "vaccine": "comirnaty",
        "doseNumber": 1,
        "requestId": new_id(),
    }


def error_info(response: httpx.Response) -> dict:
    """The ``ErrorInfo`` detail of a Status body."""
    details = response.json()["details"]
    return next(d for d in details if d["@type"] == ERROR_INFO)


def violations(response: httpx.Response) -> dict[str, str]:
    details = response.json()["details"]
    bad = next(d for d in details if d["@type"] == BAD_REQUEST)
    return {v["field"]: v["description"] for v in bad["fieldViolations"]}


async def bookable_slot(mesh: Mesh, **slot) -> clin.Slot:
    return await make_slot(mesh, await make_clinic(mesh), **slot)


def national_id() -> str:
    body = str(secrets.randbelow(8 * 10**10) + 2 * 10**10)
    return body + verhoeff.calc_check_digit(body)


async def sign_in_with_cookie(mesh: Mesh, client: httpx.AsyncClient) -> httpx.Response:
    """Signs a new citizen up and in through the gateway."""
    number, phone = national_id(), f"+9198{secrets.randbelow(10**8):08d}"
    signed_up = await client.post(
        "/v1/citizens:signUp",
        json={"nationalId": number, "contact": {"phoneNumber": phone}},
        headers={"Idempotency-Key": new_id()},
    )
    assert signed_up.status_code == 200, signed_up.text
    challenge = await client.post(
        "/v1/signInChallenges",
        json={"nationalId": number, "requestId": new_id()},
    )
    code = mesh.servicers["auth"].sign_in.sender.latest_code(Contact("phone", phone))
    return await client.post(
        f"/v1/{challenge.json()['name']}:complete",
        json={"code": code, "requestId": new_id()},
    )


# Booking through REST


async def test_a_booking_is_reserved_confirmed_read_and_cancelled_over_rest(
    mesh, client
):
    slot = await bookable_slot(mesh)
    citizen = await booker(mesh)
    auth = bearer(mesh, citizen)

    reserved = await client.post(
        "/v1/appointments:reserve", json=reservation(slot, citizen), headers=auth
    )
    assert reserved.status_code == 200, reserved.text
    appointment = reserved.json()
    assert appointment["state"] == "APPOINTMENT_STATE_PENDING"
    assert appointment["doseNumber"] == 1
    assert {"holdExpireTime", "slotStartTime", "createTime"} <= appointment.keys()
    name = appointment["name"]

    confirmed = await client.post(
        f"/v1/{name}:confirm", json={"requestId": new_id()}, headers=auth
    )
    assert confirmed.json()["state"] == "APPOINTMENT_STATE_CONFIRMED"
    read = await client.get(f"/v1/{name}", headers=auth)
    assert read.json()["state"] == "APPOINTMENT_STATE_CONFIRMED"
    cancelled = await client.post(
        f"/v1/{name}:cancel", json={"requestId": new_id()}, headers=auth
    )
    assert cancelled.json()["state"] == "APPOINTMENT_STATE_CANCELLED"


async def test_a_retried_reservation_with_one_idempotency_key_books_once(mesh, client):
    slot = await bookable_slot(mesh)
    citizen = await booker(mesh)
    body = reservation(slot, citizen)
    del body["requestId"]
    headers = {**bearer(mesh, citizen), "Idempotency-Key": new_id()}

    first = await client.post("/v1/appointments:reserve", json=body, headers=headers)
    retried = await client.post("/v1/appointments:reserve", json=body, headers=headers)

    assert first.status_code == retried.status_code == 200, retried.text
    assert first.json()["name"] == retried.json()["name"]
    listed = await client.get(
        f"/v1/citizens/{citizen}/appointments", headers=bearer(mesh, citizen)
    )
    assert len(listed.json()["appointments"]) == 1


async def test_slots_are_listed_by_path_variable_and_query_filters(mesh, client):
    region = f"gw-{new_id()[:8]}"
    clinic = await make_clinic(mesh, region=region)
    start = mesh.clock.now() + timedelta(days=3)
    for hours in (0, 24, 48):
        await make_slot(mesh, clinic, start=start + timedelta(hours=hours))
    window = {
        "region": region,
        "startTimeFrom": (start + timedelta(hours=1)).isoformat(),
        "start_time_before": (start + timedelta(hours=49)).isoformat(),
        "showCancelled": "true",
    }

    everywhere = await client.get("/v1/clinics/-/slots", params=window)
    one_page = await client.get(
        f"/v1/{clinic.name}/slots", params={**window, "pageSize": "1"}
    )

    assert everywhere.status_code == one_page.status_code == 200, everywhere.text
    starts = [slot["startTime"] for slot in everywhere.json()["slots"]]
    assert [s[:10] for s in starts] == [
        (start + timedelta(hours=hours)).date().isoformat() for hours in (24, 48)
    ]
    assert [s["startTime"] for s in one_page.json()["slots"]] == starts[:1]
    assert one_page.json()["nextPageToken"]


async def test_a_dependants_record_and_appointments_use_the_additional_bindings(
    mesh, client
):
    slot = await bookable_slot(mesh)
    signed_in = (await sign_in_with_cookie(mesh, client)).json()
    client.cookies.clear()
    citizen, auth = (
        signed_in["subject"],
        {"Authorization": f"Bearer {signed_in['token']}"},
    )
    added = await client.post(
        f"/v1/{citizen}/dependants",
        json={"displayName": "Meera", "relationship": "RELATIONSHIP_PARENT"},
        headers={**auth, "Idempotency-Key": new_id()},
    )
    assert added.status_code == 200, added.text
    dependant = added.json()["name"]

    record = await client.patch(
        f"/v1/{dependant}/patient",
        params={"allowMissing": "true", "requestId": new_id()},
        json={"birthDate": "1960-02-01", "region": "north"},
        headers=auth,
    )
    assert record.status_code == 200, record.text
    assert record.json()["name"] == f"{dependant}/patient"
    booked = await client.post(
        "/v1/appointments:reserve",
        json=reservation(slot, dependant),
        headers=auth,
    )
    assert booked.status_code == 200, booked.text

    theirs = await client.get(f"/v1/{dependant}/appointments", headers=auth)
    own = await client.get(f"/v1/{citizen}/appointments", headers=auth)
    assert [a["citizen"] for a in theirs.json()["appointments"]] == [dependant]
    assert own.json() == {}


# Errors


async def test_an_unknown_appointment_is_404_with_its_reason(mesh, client):
    citizen = await booker(mesh)

    missing = await client.get(
        f"/v1/appointments/{new_id()}", headers=bearer(mesh, citizen)
    )

    assert missing.status_code == 404
    assert missing.json()["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert error_info(missing)["reason"] == "APPOINTMENT_NOT_FOUND"


async def test_a_bad_reservation_is_400_naming_each_bad_field(mesh, client):
    citizen = await booker(mesh)
    body = {**reservation(await bookable_slot(mesh), citizen), "slot": "x"}
    body["doseNumber"] = 0

    refused = await client.post(
        "/v1/appointments:reserve", json=body, headers=bearer(mesh, citizen)
    )

    assert refused.status_code == 400
    assert error_info(refused)["reason"] == "INVALID_ARGUMENT"
    assert {"dose_number", "slot"} <= violations(refused).keys()


async def test_another_citizens_appointment_is_403(mesh, client):
    slot = await bookable_slot(mesh)
    owner = await booker(mesh)
    reserved = await client.post(
        "/v1/appointments:reserve",
        json=reservation(slot, owner),
        headers=bearer(mesh, owner),
    )

    peeked = await client.get(
        f"/v1/{reserved.json()['name']}", headers=bearer(mesh, new_id())
    )

    assert peeked.status_code == 403
    assert error_info(peeked)["reason"] == "NOT_OWNER"


async def test_a_call_without_a_valid_token_is_401(client):
    anonymous = await client.get(f"/v1/citizens/{new_id()}/appointments")
    forged = await client.get(
        f"/v1/citizens/{new_id()}/appointments",
        headers={"Authorization": "Bearer not-a-token"},
    )

    assert anonymous.status_code == forged.status_code == 401
    assert error_info(anonymous)["reason"] == "TOKEN_MISSING"
    assert error_info(forged)["reason"] == "INVALID_TOKEN"


async def test_unknown_json_fields_are_refused_by_name(mesh, client):
    citizen = await booker(mesh)
    body = {**reservation(await bookable_slot(mesh), citizen), "slotId": "c/1"}

    refused = await client.post(
        "/v1/appointments:reserve", json=body, headers=bearer(mesh, citizen)
    )

    assert refused.status_code == 400
    assert error_info(refused)["reason"] == "UNKNOWN_FIELDS"
    assert list(violations(refused)) == ["slotId"]
    assert "slotId" in refused.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "content", "reason"),
    [
        ("POST", "/v1/appointments:reserve", b"{not json", "MALFORMED_BODY"),
        ("POST", "/v1/appointments:reserve", b"[1, 2]", "MALFORMED_BODY"),
        (
            "POST",
            "/v1/appointments:reserve",
            b'{"doseNumber": "one"}',
            "MALFORMED_BODY",
        ),
        ("GET", "/v1/clinics?pageSize=many", b"", "INVALID_FIELD_VALUE"),
        ("GET", "/v1/clinics/-/slots?showCancelled=maybe", b"", "INVALID_FIELD_VALUE"),
        ("GET", "/v1/clinics?colour=red", b"", "UNKNOWN_FIELDS"),
        ("GET", "/v1/clinics/-/slots?parent=clinics/1", b"", "INVALID_FIELD_VALUE"),
        ("POST", "/v1/appointments:reserve?slot=x", b"{}", "INVALID_FIELD_VALUE"),
    ],
)
async def test_a_malformed_body_or_query_is_400_in_the_status_shape(
    client, method, path, content, reason
):
    refused = await client.request(method, path, content=content)

    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert error_info(refused)["reason"] == reason


async def test_paths_no_route_answers_are_404_and_wrong_methods_405(client):
    nowhere = await client.get("/v1/nowhere")
    wrong = await client.delete(f"/v1/appointments/{new_id()}")

    assert nowhere.status_code == 404
    assert error_info(nowhere)["reason"] == "ROUTE_NOT_FOUND"
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert error_info(wrong)["reason"] == "METHOD_NOT_ALLOWED"


# Signing in with the session cookie


async def test_sign_in_sets_an_http_only_strict_session_cookie_and_a_csrf_cookie(
    mesh, client
):
    signed_in = await sign_in_with_cookie(mesh, client)

    assert signed_in.status_code == 200, signed_in.text
    cookies = {
        c.split("=", 1)[0]: c.lower() for c in signed_in.headers.get_list("set-cookie")
    }
    assert "httponly" in cookies[SESSION_COOKIE]
    assert "samesite=strict" in cookies[SESSION_COOKIE]
    assert "httponly" not in cookies[CSRF_COOKIE]
    assert "samesite=strict" in cookies[CSRF_COOKIE]
    # They last exactly as long as the token.
    for cookie in cookies.values():
        assert f"max-age={ACCESS_TOKEN_TTL_SECONDS}" in cookie
    assert client.cookies[SESSION_COOKIE] == signed_in.json()["token"]


async def test_a_cookie_signed_change_needs_the_csrf_header(mesh, client):
    signed_in = await sign_in_with_cookie(mesh, client)
    dependants = f"/v1/{signed_in.json()['subject']}/dependants"
    dependant = {"displayName": "Asha", "relationship": "RELATIONSHIP_CHILD"}
    key = {"Idempotency-Key": new_id()}

    forged = await client.post(dependants, json=dependant, headers=key)
    assert forged.status_code == 403
    assert error_info(forged)["reason"] == "CSRF_TOKEN_MISSING"
    wrong = await client.post(
        dependants, json=dependant, headers={**key, "X-CSRF-Token": "0" * 64}
    )
    assert error_info(wrong)["reason"] == "CSRF_TOKEN_MISMATCH"

    csrf = {"X-CSRF-Token": client.cookies[CSRF_COOKIE]}
    added = await client.post(dependants, json=dependant, headers={**key, **csrf})
    assert added.status_code == 200, added.text
    listed = await client.get(dependants)
    assert [d["displayName"] for d in listed.json()["dependants"]] == ["Asha"]


async def test_a_bearer_token_needs_no_csrf_header_even_beside_the_cookie(mesh, client):
    signed_in = (await sign_in_with_cookie(mesh, client)).json()

    added = await client.post(
        f"/v1/{signed_in['subject']}/dependants",
        json={"displayName": "Ravi", "relationship": "RELATIONSHIP_SPOUSE"},
        headers={
            "Authorization": f"Bearer {signed_in['token']}",
            "Idempotency-Key": new_id(),
        },
    )

    assert SESSION_COOKIE in client.cookies
    assert added.status_code == 200, added.text


async def test_signing_out_clears_the_session(mesh, client):
    signed_in = await sign_in_with_cookie(mesh, client)
    dependants = f"/v1/{signed_in.json()['subject']}/dependants"
    assert (await client.get(dependants)).status_code == 200

    refused = await client.post("/v1/signOut")
    assert refused.status_code == 403
    signed_out = await client.post(
        "/v1/signOut", headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]}
    )

    assert signed_out.status_code == 200
    assert SESSION_COOKIE not in client.cookies
    assert CSRF_COOKIE not in client.cookies
    assert (await client.get(dependants)).status_code == 401


# The OpenAPI document, health and metrics


async def test_the_openapi_document_is_valid_and_covers_every_annotated_method(
    client,
):
    document = (await client.get("/openapi.json")).json()

    validate(document)
    operations = {
        operation["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
    }
    for service in vaxbook_services():
        for method in service.methods:
            rules = http_rules(method)
            if rules and not method.server_streaming:
                assert method.name in operations
                assert len(rules) == 1 or f"{method.name}{len(rules)}" in operations


def annotated_routes() -> list[tuple[str, str, str]]:
    """(RPC, HTTP method, a path that fits) for every rule of every
    annotated unary method, read from the descriptors here, not by the
    gateway: ``{name=appointments/*}`` becomes ``appointments/x``."""
    found = []
    for service in vaxbook_services():
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                continue
            for rule in http_rules(method):
                verb = rule.WhichOneof("pattern")
                path = re.sub(r"\{[^}=]+=([^}]+)\}", r"\1", getattr(rule, verb))
                path = re.sub(r"\{[^}]+\}", "x", path).replace("*", "x")
                found.append((method.name, verb.upper(), path))
    return found


@pytest.mark.parametrize(("rpc", "method", "path"), annotated_routes())
async def test_every_annotated_rule_reaches_its_service(client, rpc, method, path):
    answered = await client.request(method, path, json={} if method != "GET" else None)

    # 503: the notification service is not in the test mesh.
    assert answered.status_code < 500 or answered.status_code == 503, answered.text
    details = answered.json().get("details", []) if answered.is_error else []
    reasons = {detail.get("reason") for detail in details}
    assert not reasons & {"ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED"}


async def test_the_document_marks_required_and_read_only_fields_and_keeps_comments(
    client,
):
    document = (await client.get("/openapi.json")).json()

    reserve = document["paths"]["/v1/appointments:reserve"]["post"]
    body = reserve["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"citizen", "slot", "vaccine", "doseNumber"}
    assert "Holds a seat and a dose for a citizen" in reserve["description"]
    appointment = document["components"]["schemas"][
        "vaxbook.appointment.v1.Appointment"
    ]
    assert appointment["properties"]["state"]["readOnly"] is True
    assert "readOnly" not in appointment["properties"]["slot"]
    assert "hold_expire_time" not in appointment["properties"]
    assert (
        "When the held seat and dose go back"
        in (appointment["properties"]["holdExpireTime"]["description"])
    )
    confirm = document["paths"]["/v1/appointments/{appointment}:confirm"]["post"]
    assert [p["name"] for p in confirm["parameters"] if p["in"] == "path"] == [
        "appointment"
    ]


async def test_the_docs_page_is_self_contained(client):
    page = await client.get("/docs")
    script = await client.get("/docs.js")

    assert page.status_code == script.status_code == 200
    assert re.findall(r'(?:src|href)="([^"]+)"', page.text) == [
        "/openapi.json",
        "/docs.js",
    ]
    assert "/openapi.json" in script.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_health_and_metrics_answer(mesh, client):
    await client.get("/v1/clinics")

    health = await client.get("/healthz")
    metrics = await client.get("/metrics")

    assert health.json() == {"status": "ok", "rateLimiter": "off"}
    assert 'vaxbook_gateway_requests_total{method="GET",route="ListClinics"' in (
        metrics.text
    )
    assert 'vaxbook_gateway_request_seconds_count{route="ListClinics"}' in metrics.text


# A service described here: routes need no gateway change


def _field(message, name: str, number: int, kind: int, **options) -> None:
    camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
    message.field.add(name=name, number=number, type=kind, json_name=camel, **options)


def _rule(method, **pattern) -> None:
    method.options.Extensions[annotations_pb2.http].CopyFrom(
        http_pb2.HttpRule(**pattern)
    )


def echo_file() -> descriptor_pb2.FileDescriptorProto:
    """``vaxbook.echo.v1``: one message echoed back by every method."""
    file = descriptor_pb2.FileDescriptorProto(
        name="vaxbook/echo/v1/echo_gateway_test.proto",
        package="vaxbook.echo.v1",
        syntax="proto3",
        dependency=["google/api/annotations.proto"],
    )
    text, number, message = (
        FieldDescriptor.TYPE_STRING,
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_MESSAGE,
    )
    repeated = {"label": FieldDescriptor.LABEL_REPEATED}
    single = {"label": FieldDescriptor.LABEL_OPTIONAL}
    nested = file.message_type.add(name="Filter")
    _field(nested, "region", 1, text, **single)
    _field(nested, "vaccines", 2, text, **repeated)
    echo = file.message_type.add(name="Echo")
    _field(echo, "name", 1, text, **single)
    _field(echo, "filter", 2, message, type_name=".vaxbook.echo.v1.Filter", **single)
    _field(echo, "page_size", 3, number, **single)
    _field(echo, "request_id", 4, text, **single)
    _field(echo, "authorization", 5, text, **single)
    service = file.service.add(name="EchoService")
    methods = {
        name: service.method.add(
            name=name,
            input_type=".vaxbook.echo.v1.Echo",
            output_type=".vaxbook.echo.v1.Echo",
        )
        for name in ("GetWidget", "UpdateWidget", "SlowWidget", "WatchWidgets")
    }
    _rule(methods["GetWidget"], get="/v1/{name=widgets/*}")
    _rule(
        methods["UpdateWidget"],
        post="/v1/{name=widgets/*}:update",
        body="*",
        additional_bindings=[
            http_pb2.HttpRule(put="/v1/{name=widgets/*}", body="filter")
        ],
    )
    _rule(methods["SlowWidget"], get="/v1/{name=widgets/*}:slow")
    methods["WatchWidgets"].server_streaming = True
    _rule(methods["WatchWidgets"], get="/v1/widgets:watch")
    return file


@pytest.fixture(scope="module")
def echo_service() -> ServiceDescriptor:
    pool = descriptor_pool.Default()
    pool.AddSerializedFile(echo_file().SerializeToString())
    return pool.FindServiceByName("vaxbook.echo.v1.EchoService")


@pytest.fixture(scope="module")
async def echo_server(echo_service: ServiceDescriptor) -> AsyncIterator[str]:
    """The echo service: each method answers its request, with the
    ``authorization`` metadata it got; ``SlowWidget`` takes a minute."""
    echo = message_factory.GetMessageClass(
        echo_service.methods_by_name["GetWidget"].input_type
    )

    async def answer(request, context):
        metadata = dict(context.invocation_metadata())
        request.authorization = metadata.get("authorization", "")
        return request

    async def slow(request, context):
        await asyncio.sleep(60)
        return request

    handler = {
        "request_deserializer": echo.FromString,
        "response_serializer": echo.SerializeToString,
    }
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(answer, **handler)
        for name in ("GetWidget", "UpdateWidget")
    }
    handlers["SlowWidget"] = grpc.unary_unary_rpc_method_handler(slow, **handler)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(echo_service.full_name, handlers)]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(grace=0)


def seen_routes(app_routes: list[str]):
    """A middleware recording the operation each request was routed to."""

    class Recording:
        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send) -> None:
            match = matched_route(scope)
            app_routes.append(match.binding.operation_id if match else "")
            await self.app(scope, receive, send)

    return Middleware(Recording)


@pytest.fixture(scope="module")
async def echo_gateway(
    settings: Settings, echo_service: ServiceDescriptor, echo_server: str
) -> AsyncIterator[tuple[RunningGateway, list[str]]]:
    routed: list[str] = []
    app = create_app(
        dataclasses.replace(
            gateway_settings(settings, echo=echo_server), deadline_seconds=0.3
        ),
        services=[echo_service],
        middleware=[seen_routes(routed)],
        health_extras=lambda: {"rateLimiter": "redis"},
    )
    running = await start_in_loop(app)
    yield running, routed
    await running.stop()


@pytest.fixture
async def echo_client(echo_gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=echo_gateway[0].url) as opened:
        yield opened


async def test_a_new_annotated_rpc_is_reached_with_nested_and_repeated_query_fields(
    echo_client,
):
    answered = await echo_client.get(
        "/v1/widgets/w%2F1",
        params=[
            ("filter.region", "north"),
            ("filter.vaccines", "comirnaty"),
            ("filter.vaccines", "covaxin"),
            ("page_size", "3"),
        ],
        headers={"Authorization": "Bearer abc"},
    )

    assert answered.status_code == 200, answered.text
    assert answered.json() == {
        "name": "widgets/w/1",
        "filter": {"region": "north", "vaccines": ["comirnaty", "covaxin"]},
        "pageSize": 3,
        "authorization": "Bearer abc",
    }


async def test_a_body_field_binding_and_the_idempotency_key_fill_the_request(
    echo_client,
):
    whole = await echo_client.post(
        "/v1/widgets/w1:update",
        json={"pageSize": 2, "name": "widgets/other"},
        headers={"Idempotency-Key": "key-1"},
    )
    filter_only = await echo_client.put(
        "/v1/widgets/w1?requestId=set-here",
        json={"region": "south"},
        headers={"Idempotency-Key": "key-2"},
    )

    # The path wins over the body; the key fills what nothing else set.
    assert whole.json() == {"name": "widgets/w1", "pageSize": 2, "requestId": "key-1"}
    assert filter_only.json() == {
        "name": "widgets/w1",
        "filter": {"region": "south"},
        "requestId": "set-here",
    }


async def test_streaming_rpcs_get_no_route(echo_client):
    watched = await echo_client.get("/v1/widgets:watch")
    document = (await echo_client.get("/openapi.json")).json()

    assert watched.status_code == 404
    assert "/v1/widgets:watch" not in document["paths"]
    validate(document)


async def test_a_call_past_its_deadline_is_504(echo_client):
    slow = await echo_client.get("/v1/widgets/w1:slow")

    assert slow.status_code == 504
    assert slow.json()["code"] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert error_info(slow)["reason"] == "ECHO_DEADLINE_EXCEEDED"


async def test_a_service_that_does_not_answer_is_503(settings, echo_service):
    app = create_app(
        gateway_settings(settings, echo="127.0.0.1:1"), services=[echo_service]
    )
    running = await start_in_loop(app)
    try:
        async with httpx.AsyncClient(base_url=running.url) as client:
            down = await client.get("/v1/widgets/w1")
    finally:
        await running.stop()

    assert down.status_code == 503
    assert down.json()["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert error_info(down)["reason"] == "ECHO_UNAVAILABLE"
    assert "127.0.0.1" not in down.text


async def test_added_middleware_sees_the_route_and_health_takes_extras(
    echo_gateway, echo_client
):
    _, routed = echo_gateway
    routed.clear()

    await echo_client.get("/v1/widgets/w1")
    health = await echo_client.get("/healthz")

    assert routed == ["GetWidget", ""]
    assert health.json() == {"status": "ok", "rateLimiter": "redis"}


# Rate limits, as `python -m gateway` mounts them


@pytest.fixture(scope="module")
async def limited_gateway(
    mesh: Mesh, settings: Settings
) -> AsyncIterator[RunningGateway]:
    """The gateway with its rate limits over the run's Redis."""
    ports = {name: f"127.0.0.1:{s.port}" for name, s in mesh.servers.items()}
    base = dataclasses.replace(
        settings,
        service_addrs={**settings.service_addrs, **ports},
        key_prefix=f"{settings.key_prefix}-{new_id()[:8]}",
    )
    limits = rate_limiting(base, mesh.clock)
    app = create_app(
        gateway_settings(settings, **ports),
        clock=mesh.clock,
        middleware=limits.middleware,
        health_extras=limits.health,
        lifespans=[limits.lifespan],
    )
    running = await start_in_loop(app)
    yield running
    await running.stop()


async def test_one_time_codes_past_their_limit_are_refused_with_retry_after(
    limited_gateway: RunningGateway,
):
    async with httpx.AsyncClient(base_url=limited_gateway.url, timeout=10) as client:
        health = (await client.get("/healthz")).json()
        answers = [
            await client.post(
                "/v1/signInChallenges",
                json={"nationalId": "498765432102", "requestId": new_id()},
            )
            for _ in range(RateLimitSettings().one_time_code.burst + 1)
        ]

    assert health["rateLimiter"] == "redis"
    refused = answers[-1]
    assert all(answer.status_code != 429 for answer in answers[:-1])
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["code"] == 8
    assert body["details"][0]["reason"] == "RATE_LIMITED"
