"""Appointment service: the booking state machine."""
