"""A stand-in for the external insurance API, with faults to order.

Run it with ``python -m services.insurance_standin``; tests start it in
process with :func:`services.insurance_standin.server.start_standin`.
"""
