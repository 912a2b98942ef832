"""Measuring routing policies on labelled data: datasets, metrics, baselines, curves, calibration.

A dataset says, per prompt, how well each tier's stand-in model answered. Any router — a rule
policy, the learned router, a baseline — becomes a choice of tier per row (and, when it scores,
a score per rung), and the metrics here turn that into quality, cost and the RouteLLM figures.
"""

from __future__ import annotations
