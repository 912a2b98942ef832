"""The learned router: a local linear model that scores, per prompt, how likely a cheaper tier's
answer falls short of a higher tier's. Features (``features``), the saved model and its safe
loader (``model``), training and cross-validation (``train``), labels from logs (``logs``).
"""

from __future__ import annotations
