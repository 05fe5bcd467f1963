"""Test harness helpers (network namespaces, live servers)."""
