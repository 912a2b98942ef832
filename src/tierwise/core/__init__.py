"""tierwise.core."""
