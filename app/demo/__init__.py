"""Demo and reference data (idempotent seeds)."""
