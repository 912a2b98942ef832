"""Server-key mode: the proxy spends its own key upstream and requires its own client keys."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from tierwise.core.errors import ConfigError
from tierwise.serving import ClientKeys, ProxySettings
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import Fail, FakeAnthropicServer, FakeConfig

from .conftest import ProxyFactory
from .harness import FAST_RETRIES, HELLO, VERSION, Proxy

SERVER_KEY = "sk-ant-server-0123456789"
ALICE = "tw-alice-key-abcdef"
BOB = "tw-bob-key-123456"


@pytest.fixture
def keyed(make_proxy: ProxyFactory) -> Iterator[Proxy]:
    """A proxy in server-key mode, in front of a fake that accepts only the server key."""
    with FakeAnthropicServer(FakeConfig(api_keys={SERVER_KEY})) as upstream_fake:
        proxy = make_proxy(
            upstream=UpstreamConfig(base_url=upstream_fake.url, retry=FAST_RETRIES),
            server_key=SERVER_KEY,
            client_keys=ClientKeys.parse(f"alice: {ALICE}\nbob: {BOB}\n", "test"),
        )
        proxy.fake = upstream_fake
        yield proxy


def test_a_client_key_is_required(keyed: Proxy) -> None:
    body = {"model": "auto", "max_tokens": 5, "messages": HELLO}
    missing = httpx.post(f"{keyed.url}/v1/messages", json=body, headers=VERSION)
    wrong = httpx.post(
        f"{keyed.url}/v1/messages", json=body, headers={**VERSION, "x-api-key": SERVER_KEY}
    )
    for response in (missing, wrong):
        assert response.status_code == 401
        error = response.json()
        assert error["type"] == "error"
        assert error["error"]["type"] == "authentication_error"
        assert error["request_id"].startswith("req_tierwise_")
    assert len(keyed.fake.log) == 0


def test_the_sdk_sees_an_authentication_error(keyed: Proxy) -> None:
    with keyed.sdk(api_key="not-a-key") as client, pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="auto", max_tokens=5, messages=HELLO)


def test_upstream_sees_the_server_key_not_the_clients(keyed: Proxy) -> None:
    with keyed.sdk(api_key=ALICE) as client:  # the SDK sends Authorization: Bearer
        client.messages.create(model="auto", max_tokens=5, messages=HELLO)
    response = httpx.post(
        f"{keyed.url}/v1/messages",
        json={"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO},
        headers={**VERSION, "x-api-key": BOB},
    )
    assert response.status_code == 200
    for seen in keyed.fake.log.messages():
        assert seen.headers["x-api-key"] == SERVER_KEY
        assert "authorization" not in seen.headers
        assert not any(key in value for value in seen.headers.values() for key in (ALICE, BOB))
    assert [o.caller for o in keyed.wait_outcomes(2)] == ["alice", "bob"]


def test_models_need_a_client_key_too(keyed: Proxy) -> None:
    assert httpx.get(f"{keyed.url}/v1/models").status_code == 401
    ok = httpx.get(f"{keyed.url}/v1/models", headers={"authorization": f"Bearer {ALICE}"})
    assert ok.status_code == 200


def test_keys_never_reach_the_logs(keyed: Proxy, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyed.fake.script.set_default(Fail(529))
    body = {"model": "auto", "max_tokens": 5, "messages": HELLO}
    for key in (ALICE, "wrong-key"):
        httpx.post(f"{keyed.url}/v1/messages", json=body, headers={**VERSION, "x-api-key": key})
    text = caplog.text
    assert text  # something was logged (httpx/httpcore at debug level)
    for secret in (SERVER_KEY, ALICE, "wrong-key"):
        assert secret not in text


# -- settings and key files -------------------------------------------------------------------


def test_client_keys_file_format(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# team keys\nalice: k-1\n\nbob : k-2  # laptop\n", encoding="utf-8")
    keys = ClientKeys.load(path, {})
    assert keys is not None
    assert keys.names == ("alice", "bob")
    assert keys.authenticate("k-2", None) == "bob"
    assert keys.authenticate(None, "Bearer k-1") == "alice"
    assert "k-1" not in repr(keys)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("alice k-1", "not 'name: key'"),
        ("alice: k-1\nalice: k-2", "repeated"),
        ("# nothing", "no client keys"),
        ("alice: k é", "printable ASCII"),
    ],
)
def test_bad_client_keys_are_config_errors(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        ClientKeys.parse(text, "keys")


def test_client_keys_from_the_environment() -> None:
    keys = ClientKeys.load(None, {"TIERWISE_CLIENT_KEYS": "a: k-a, b: k-b"})
    assert keys is not None
    assert keys.names == ("a", "b")
    assert ClientKeys.load(None, {}) is None


def test_server_key_mode_settings(tmp_path: Path) -> None:
    env = {"MY_KEY": SERVER_KEY, "TIERWISE_CLIENT_KEYS": f"alice: {ALICE}"}
    settings = ProxySettings.from_options(api_key_env="MY_KEY", environ=env)
    assert settings.server_key == SERVER_KEY
    assert settings.client_keys is not None
    assert SERVER_KEY not in repr(settings)
    with pytest.raises(ConfigError, match="MY_KEY is not set"):
        ProxySettings.from_options(api_key_env="MY_KEY", environ={})
    with pytest.raises(ConfigError, match="needs client keys"):
        ProxySettings.from_options(api_key_env="MY_KEY", environ={"MY_KEY": SERVER_KEY})
    keys_file = tmp_path / "keys"
    keys_file.write_text("a: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="need a server key"):
        ProxySettings.from_options(client_keys_file=keys_file, environ={})


def test_default_settings_forward_the_callers_key() -> None:
    settings = ProxySettings.from_options(environ={"TIERWISE_CLIENT_KEYS": "a: b"})
    assert settings.server_key is None
    assert settings.client_keys is None
    assert settings.host == "127.0.0.1"
    assert settings.port == 8787
    assert settings.max_body_bytes == 32 * 1024 * 1024
    assert settings.upstream.base_url == "https://api.anthropic.com"
