"""Notification service: confirmations, reminders, cancellations and review
notices by e-mail, SMS and push, in each citizen's language, with retries and
a dead-letter stream."""
