"""Benchmarks on emulated devices (issue #5)."""
