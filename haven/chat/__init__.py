"""Group chat in a meeting: text only, for everyone admitted, no private messages (S4, S5)."""
