"""Job repositories: git mirrors and checkouts, isolated discovery, and reconciliation plans (no database)."""
