"""tierwise.analysis."""
