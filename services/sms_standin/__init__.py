"""A stand-in SMS and push provider that records what it is asked to send,
with failures to order.

Run it with ``python -m services.sms_standin``; tests start it in process with
:func:`services.sms_standin.server.start_standin`.
"""
