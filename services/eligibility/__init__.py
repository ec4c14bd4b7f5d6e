"""Who may have which vaccine: rules as data, their evaluation, and the
insurance check behind a circuit breaker."""
