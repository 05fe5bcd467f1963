"""Email delivery for the embedded default: the console and a local outbox folder."""
