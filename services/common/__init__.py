"""Plumbing shared by every service: config, logging, errors, server start-up."""
