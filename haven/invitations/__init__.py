"""Invitations: personal links and passcodes, sent only by email (rule S1)."""
