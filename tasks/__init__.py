"""Task engine seam: enqueue work, run workers, relay the outbox."""
