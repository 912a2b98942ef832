"""tierwise.escalation."""
