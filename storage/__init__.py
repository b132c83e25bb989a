"""Adapters to the outside world's storage: PostgreSQL and the object store."""
