"""Haven's media layer: running Janus, talking to it, and the SFU-agnostic gateway.

Nothing in this package imports Django, so management commands and the test
harness can use it without settings.
"""
