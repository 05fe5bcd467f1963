"""Removals from one meeting and bans from all of an organisation's meetings (rule S8)."""
