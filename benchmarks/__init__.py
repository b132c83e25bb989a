"""Benchmarks of the pipeline against the tools a user would script instead (`veza bench NAME`)."""
