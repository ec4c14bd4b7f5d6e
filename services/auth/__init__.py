"""Auth service: accounts, one-time codes, dependants, staff and token keys."""
