"""The audit log: who did what, when, in which meeting."""
