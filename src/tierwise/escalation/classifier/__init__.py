"""The LLM classifier: a small model grades the task when the local strategies are unsure.

``Classifier`` makes the call (with its timeout, circuit breaker and cache); ``wants`` says
whether a routed request needs it; ``reroute`` applies its grade. See ``core`` and ``apply``.
"""

from tierwise.escalation.classifier.apply import decisive_verdict, reroute, wants
from tierwise.escalation.classifier.breaker import CircuitBreaker
from tierwise.escalation.classifier.cache import LruCache, text_key
from tierwise.escalation.classifier.core import Classification, Classifier

__all__ = [
    "CircuitBreaker",
    "Classification",
    "Classifier",
    "LruCache",
    "decisive_verdict",
    "reroute",
    "text_key",
    "wants",
]
