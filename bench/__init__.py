"""Haven's benchmarks (issue 8): join speed, signalling load, memory, media, page weight.

`make bench` runs them all against a live stack (tests/harness/stack.py) and writes
bench/results/latest.json and latest.md; see bench/README.md.
"""
