"""Clinic service: clinics and their bookable slots."""
