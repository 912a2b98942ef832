"""Executors over the core's decision: the LLM ``classifier``, answer ``validators``, and the
``cascade`` (try a cheap tier, validate, escalate) with its client driver
(``cascade_client``)."""
