"""Training the learned router (``train``) and its training rows from recorded traffic
(``logs``); scoring lives in ``tierwise.learned``."""
