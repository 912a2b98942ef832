"""tierwise.analysis.training."""
