"""tierwise.messages."""
