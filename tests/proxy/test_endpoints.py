"""The other endpoints: /v1/models (Anthropic's shape, from the policy), count_tokens, probes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import anthropic
import httpx
import pytest

from tierwise.core.policy import load_policy

from .conftest import ProxyFactory
from .harness import HELLO, VERSION, Proxy


def test_models_list_is_accepted_by_the_sdk(proxy: Proxy, client: anthropic.Anthropic) -> None:
    models = list(client.models.list())
    ids = [model.id for model in models]
    aliases = load_policy().config.aliases
    assert ids == [*aliases, "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"]
    assert "claude-tierwise-auto" in ids  # Claude Code lists only ids starting with "claude"
    assert models[0].display_name == "tierwise: auto-routed"
    assert models[0].type == "model"
    assert isinstance(models[0].created_at, datetime)
    haiku = models[len(aliases)]
    assert haiku.display_name.startswith("Claude Haiku")
    assert haiku.line == "haiku"
    assert haiku.max_input_tokens == 1_000_000
    assert len(proxy.fake.log) == 0  # served from the policy, not from upstream


def test_models_page_shape_and_pagination(proxy: Proxy) -> None:
    page = httpx.get(f"{proxy.url}/v1/models", params={"limit": 2}).json()
    assert set(page) == {"data", "has_more", "first_id", "last_id"}
    assert [m["id"] for m in page["data"]] == ["auto", "tierwise-auto"]
    assert page["has_more"] is True
    assert page["first_id"] == "auto"
    assert page["last_id"] == "tierwise-auto"
    rest = httpx.get(f"{proxy.url}/v1/models", params={"after_id": "tierwise-auto"}).json()
    assert rest["data"][0]["id"] == "claude-tierwise-auto"
    assert rest["has_more"] is False
    for info in page["data"] + rest["data"]:
        assert info["type"] == "model"
        assert info["created_at"].endswith("Z")
        assert info["lifecycle"] in ("active", "deprecated", "retired")


def test_models_list_follows_the_policy(tmp_path: Path, make_proxy: ProxyFactory) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        'extends = "default"\naliases = ["claude-auto"]\n[tiers]\nenabled = ["sonnet", "opus"]\n',
        encoding="utf-8",
    )
    proxy = make_proxy(policy=load_policy(policy_file))
    page = httpx.get(f"{proxy.url}/v1/models").json()
    assert [m["id"] for m in page["data"]] == [
        "claude-auto",
        "claude-sonnet-5-5",
        "claude-opus-5-5",
    ]


def test_retrieve_a_model(client: anthropic.Anthropic) -> None:
    assert client.models.retrieve("auto").display_name == "tierwise: auto-routed"
    assert client.models.retrieve("claude-opus-5-5").line == "opus"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nope-1")


def test_count_tokens_routes_the_alias_and_relays_the_count(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    counted = client.messages.with_raw_response.count_tokens(
        model="auto", messages=HELLO, extra_headers={"x-tierwise-task-type": "format"}
    )
    assert counted.parse().input_tokens > 0
    assert counted.headers["x-tierwise-model"] == "claude-haiku-5-5"
    forwarded = proxy.fake.log.last
    assert forwarded.path == "/v1/messages/count_tokens"
    assert forwarded.body["model"] == "claude-haiku-5-5"
    assert "max_tokens" not in forwarded.body
    (outcome,) = proxy.wait_outcomes()
    assert outcome.endpoint == "count_tokens"
    assert outcome.usage is None
    assert outcome.cost is None


def test_count_tokens_relays_upstream_errors(proxy: Proxy) -> None:
    body = {"model": "auto", "messages": HELLO}
    response = httpx.post(f"{proxy.url}/v1/messages/count_tokens", json=body)  # no version
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "anthropic-version: header is required"
    assert response.json()["request_id"] == proxy.fake.log.last.request_id


def test_probes(proxy: Proxy) -> None:
    assert httpx.head(f"{proxy.url}/").status_code == 200
    assert httpx.get(f"{proxy.url}/").status_code == 200
    health = httpx.get(f"{proxy.url}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert len(proxy.fake.log) == 0


def test_messages_path_matches_with_a_query_string(proxy: Proxy) -> None:
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    response = httpx.post(f"{proxy.url}/v1/messages?beta=true", json=body, headers=VERSION)
    assert response.status_code == 200
    assert proxy.fake.log.last.query == "beta=true"
