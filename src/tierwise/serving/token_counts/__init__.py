"""Context awareness from real token counts: the API's count where the estimate is not enough.

The offline estimate (``tierwise.core.tokens``) is good to a few tens of percent, which only matters
when a prompt sits near a line routing draws: a context threshold of the policy
(``context.large_read_tokens``, ``context.deep_read_tokens``) or a model's context window. For
such prompts, and only those, the proxy asks ``/v1/messages/count_tokens`` with the request's
own key and decides with the count; everything else routes on the estimate with no extra call.

* ``sizing``: the prompt size a decision uses (the count if made, else the corrected estimate);
* ``band``: which prompts are near a threshold;
* ``counter``: the call itself, with its timeout, cache and circuit breaker;
* ``step``: the proxy's pre-routing step that ties them together (imports the router);
* ``errors`` and ``command``: the estimate's measured error, ``tierwise estimate-error``.

This module imports none of them, so that ``dispatch`` can import ``sizing`` without a cycle.
"""
