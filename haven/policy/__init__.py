"""The organisation's written policy as data, and the rules that enforce it."""
