"""Inventory service: seats, doses and the holds on them."""
