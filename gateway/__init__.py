"""The REST-to-gRPC gateway. Its routes and OpenAPI document are built at
start-up from the protos' ``google.api.http`` options; it also keeps the
browser session cookie. ``gateway.app.create_app`` builds it and
``python -m gateway`` runs it."""
