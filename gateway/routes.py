"""REST routes built from the ``google.api.http`` options of the services.

Each annotated unary method gives one :class:`Binding` per rule: its main
rule and each of its ``additional_bindings``. Streaming methods are not
exposed. A rule the gateway cannot serve (``response_body``, a path
variable naming a message or a list, an unknown body field) stops start-up
with a :class:`RouteError` naming the method, rather than serving it wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import (
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.message import Message

from gateway import fields
from gateway.templates import PathTemplate, RequestPath, parse_template

WHOLE_BODY = "*"


class RouteError(ValueError):
    """An annotation the gateway cannot serve; the message names the method."""


@dataclass(frozen=True)
class Rpc:
    """One unary method, where it is served, and its message classes."""

    service: ServiceDescriptor
    method: MethodDescriptor
    # The key of ``service_addrs`` of the service that serves it.
    upstream: str
    request_class: type[Message]
    response_class: type[Message]

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def path(self) -> str:
        """The gRPC method path, ``/package.Service/Method``."""
        return f"/{self.service.full_name}/{self.method.name}"


@dataclass(frozen=True)
class Binding:
    """One HTTP method and path template calling one RPC."""

    rpc: Rpc
    http_method: str
    template: PathTemplate
    # "" (no body), "*" (every field not in the path) or one field's name.
    body: str
    # Unique among the gateway's bindings: the RPC name, numbered from 2
    # for additional bindings.
    operation_id: str

    @property
    def body_field(self) -> FieldDescriptor | None:
        if self.body in ("", WHOLE_BODY):
            return None
        return self.rpc.request_class.DESCRIPTOR.fields_by_name[self.body]

    def query_refusal(self, path: Sequence[FieldDescriptor]) -> str | None:
        """Why a query parameter may not set the field along ``path``, or
        ``None`` when it may: the fields the path and body set are theirs."""
        if self.body == WHOLE_BODY:
            return "this method takes its fields in the JSON body"
        if path[0].name == self.body:
            return "this field is set by the JSON body"
        if ".".join(field.name for field in path) in self.template.variables:
            return "this field is set by the URL path"
        return None


@dataclass(frozen=True)
class Match:
    """A request's binding and the values its path gave the variables."""

    binding: Binding
    variables: dict[str, str]


class Router:
    """Finds the binding of a request; the most literal template wins when
    several fit, so ``/v1/clinics/-`` style literals beat wildcards."""

    def __init__(self, bindings: Sequence[Binding]) -> None:
        self.bindings = tuple(bindings)

    def match(self, method: str, raw_path: str) -> Match | None:
        path = RequestPath.parse(raw_path)
        fitting = [
            (binding, variables)
            for binding in self.bindings
            if binding.http_method == method
            and (variables := binding.template.match(path)) is not None
        ]
        if not fitting:
            return None
        binding, variables = max(fitting, key=lambda f: f[0].template.literal_count)
        return Match(binding, variables)

    def methods_at(self, raw_path: str) -> list[str]:
        """The HTTP methods some binding takes at ``raw_path``."""
        path = RequestPath.parse(raw_path)
        found = {
            binding.http_method
            for binding in self.bindings
            if binding.template.match(path) is not None
        }
        return sorted(found)


def build_bindings(services: Iterable[ServiceDescriptor]) -> list[Binding]:
    """Every binding of every annotated unary method of ``services``."""
    annotated: list[tuple[Rpc, list[http_pb2.HttpRule]]] = []
    for service in services:
        for method in service.methods:
            rules = http_rules(method)
            if rules and _unary(method):
                annotated.append((_rpc(service, method), rules))
    taken = Counter(rpc.name for rpc, _ in annotated)
    bindings = []
    for rpc, rules in annotated:
        # Two services may name a method alike; their operations may not.
        base = rpc.name if taken[rpc.name] == 1 else f"{rpc.service.name}_{rpc.name}"
        for index, rule in enumerate(rules):
            operation_id = base if index == 0 else f"{base}{index + 1}"
            bindings.append(_binding(rpc, rule, operation_id))
    _refuse_duplicates(bindings)
    return bindings


def http_rules(method: MethodDescriptor) -> list[http_pb2.HttpRule]:
    """The method's ``google.api.http`` rule and its additional bindings;
    empty when it has none."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule = options.Extensions[annotations_pb2.http]
    return [rule, *rule.additional_bindings]


def upstream_of(service: ServiceDescriptor) -> str:
    """The service of package ``vaxbook.<name>.v1`` is served by ``<name>``."""
    parts = service.file.package.split(".")
    if len(parts) != 3 or parts[0] != "vaxbook":
        raise RouteError(
            f"{service.full_name}: package {service.file.package!r} is not "
            "vaxbook.<service>.v1, so the gateway cannot tell who serves it"
        )
    return parts[1]


def _unary(method: MethodDescriptor) -> bool:
    return not (method.client_streaming or method.server_streaming)


def _rpc(service: ServiceDescriptor, method: MethodDescriptor) -> Rpc:
    return Rpc(
        service=service,
        method=method,
        upstream=upstream_of(service),
        request_class=message_factory.GetMessageClass(method.input_type),
        response_class=message_factory.GetMessageClass(method.output_type),
    )


def _binding(rpc: Rpc, rule: http_pb2.HttpRule, operation_id: str) -> Binding:
    where = rpc.path
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise RouteError(f"{where}: an http rule names no HTTP method")
    if rule.response_body:
        raise RouteError(f"{where}: response_body is not supported by the gateway")
    if kind == "custom":
        http_method, source = rule.custom.kind.upper(), rule.custom.path
    else:
        http_method, source = kind.upper(), getattr(rule, kind)
    try:
        template = parse_template(source)
    except ValueError as error:
        raise RouteError(f"{where}: {error}") from None
    binding = Binding(rpc, http_method, template, rule.body, operation_id)
    _check_variables(binding)
    _check_body(binding)
    return binding


def _check_variables(binding: Binding) -> None:
    request = binding.rpc.request_class.DESCRIPTOR
    for variable in binding.template.variables:
        path = fields.resolve(request, variable)
        if path is None or ".".join(f.name for f in path) != variable:
            raise RouteError(
                f"{binding.rpc.path}: path variable {variable!r} names no field "
                f"of {request.full_name}"
            )
        if path[-1].is_repeated or not fields.is_plain_value(path[-1]):
            raise RouteError(
                f"{binding.rpc.path}: path variable {variable!r} must name a "
                "single string, number or boolean field"
            )


def _check_body(binding: Binding) -> None:
    if binding.body in ("", WHOLE_BODY):
        return
    request = binding.rpc.request_class.DESCRIPTOR
    if binding.body not in request.fields_by_name:
        raise RouteError(
            f"{binding.rpc.path}: body {binding.body!r} names no field of "
            f"{request.full_name}"
        )


def _refuse_duplicates(bindings: Sequence[Binding]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for binding in bindings:
        key = (binding.http_method, binding.template.source)
        if key in seen:
            raise RouteError(
                f"{binding.rpc.path} and {seen[key]} both answer {key[0]} {key[1]}"
            )
        seen[key] = binding.rpc.path
