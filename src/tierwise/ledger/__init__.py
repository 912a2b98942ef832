"""tierwise.ledger."""
