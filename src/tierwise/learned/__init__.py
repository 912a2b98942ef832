"""The learned router: local linear models that estimate, per prompt, how likely each tier is to
answer well, and from those the quality expected from going up a tier. Features (``features``,
``signals``), the saved model and its safe loader (``model``), training, preset selection and
cross-validation (``train``), outcomes from logs (``logs``).
"""

from __future__ import annotations
