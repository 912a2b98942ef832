"""The drop-in SDK client: ``tierwise.Anthropic`` and ``tierwise.AsyncAnthropic``.

They are the official ``anthropic`` clients with routing in ``client.messages``: ``create``,
``stream`` and ``count_tokens`` route a request whose ``model`` is a routing alias (or any
catalog model in rewrite mode) locally, with the same ``MessagesRouter`` the proxy uses, then
call the real SDK method with the routed body. Everything else — constructor arguments, the SDK's
own keyword arguments (``extra_headers``, ``timeout``...), return types, errors, retries — is the
SDK's. A concrete model id passes through untouched. ::

    import tierwise
    from tierwise.client import decision_of

    client = tierwise.Anthropic()  # policy="my-policy.toml" to use your own
    message = client.messages.create(
        model="auto", max_tokens=1024, messages=[{"role": "user", "content": "Fix the typo"}],
        extra_headers={"x-tierwise-task-type": "boilerplate"},  # optional hints
    )
    print(message.model, decision_of(message).reason)

Hints go in ``extra_headers`` or the client's ``default_headers`` (``x-tierwise-*``), or in
``metadata`` (``tierwise_*`` keys); all are removed before the request is sent. The decision
rides on what the SDK returns: read it with ``decision_of`` / ``routed_of`` (a ``Message``, a
raw ``Stream``, a ``MessageStream`` and its final message, a stream manager, a
``MessageTokensCount``). ``client.beta.messages`` is the SDK's own and is not routed.

The SDK is an optional dependency: ``pip install 'tierwise[sdk]'``.
"""

try:
    import anthropic  # noqa: F401  (the clients below subclass the SDK's)
except ImportError as exc:
    raise ImportError(
        "tierwise.Anthropic and tierwise.AsyncAnthropic need the official anthropic SDK: "
        "pip install 'tierwise[sdk]'"
    ) from exc

from tierwise.client.aio import AsyncAnthropic, RoutedAsyncMessages
from tierwise.client.streams import RoutedAsyncMessageStreamManager, RoutedMessageStreamManager
from tierwise.client.sync import Anthropic, RoutedMessages
from tierwise.client.tagging import decision_of, report_of, routed_of

__all__ = [
    "Anthropic",
    "AsyncAnthropic",
    "RoutedAsyncMessageStreamManager",
    "RoutedAsyncMessages",
    "RoutedMessageStreamManager",
    "RoutedMessages",
    "decision_of",
    "report_of",
    "routed_of",
]

for _name in ("Anthropic", "AsyncAnthropic"):
    globals()[_name].__module__ = __name__  # shown as tierwise.client, where users import them
