"""REST-to-gRPC gateway for the public portal (not built yet)."""
