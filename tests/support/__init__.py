"""Helpers shared by the test suites of several services (doubles, clocks, an HTTP harness)."""
