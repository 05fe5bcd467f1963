"""Consent before access (rules G1, U3, U4, U5): house rules agreed, then the link is sent."""
