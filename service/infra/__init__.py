"""Infrastructure every use case stands on: database, row inserts, broker, after-commit outbox, presence."""
