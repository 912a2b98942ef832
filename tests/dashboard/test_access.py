"""With client keys configured the dashboard needs one: a header for scripts, a cookie for
browsers (set from ``?key=`` once). Without client keys it is open like the rest of the proxy."""

from __future__ import annotations

import httpx
import pytest

from tierwise.analysis.dashboard.access import COOKIE
from tierwise.ledger.store import Store

from .conftest import ALICE, SERVER_KEY, Dashboard, DashboardFactory

PATHS = ("/dashboard", "/dashboard/api/report", "/dashboard/static/dashboard.js")


@pytest.fixture
def keyed(make_dashboard: DashboardFactory, store: Store) -> Dashboard:
    return make_dashboard(store=store, keyed=True)


def _is_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"


def test_everything_needs_a_key(keyed: Dashboard) -> None:
    for path in PATHS:
        _is_401(httpx.get(keyed.url + path))
        _is_401(httpx.get(keyed.url + path, headers={"x-api-key": SERVER_KEY}))
    _is_401(httpx.post(f"{keyed.url}/dashboard/api/recommend", json={"task": "hi"}))
    message = httpx.get(f"{keyed.url}/dashboard").json()["error"]["message"]
    assert "?key=" in message


def test_scripts_send_the_key_as_for_messages(keyed: Dashboard) -> None:
    for headers in ({"x-api-key": ALICE}, {"authorization": f"Bearer {ALICE}"}):
        for path in PATHS:
            assert httpx.get(keyed.url + path, headers=headers).status_code == 200
        recommend = httpx.post(
            f"{keyed.url}/dashboard/api/recommend", json={"task": "hi"}, headers=headers
        )
        assert recommend.status_code == 200


def test_a_browser_trades_the_key_for_a_session_cookie(keyed: Dashboard) -> None:
    login = httpx.get(f"{keyed.url}/dashboard", params={"key": ALICE, "since": "7d"})
    assert login.status_code == 303
    assert login.headers["location"] == "/dashboard?since=7d"  # the key leaves the address bar
    cookie = login.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie
    assert ALICE not in cookie  # the cookie names the key, it does not hold it
    value = login.cookies[COOKIE]
    with httpx.Client(base_url=keyed.url, cookies={COOKIE: value}) as browser:
        for path in PATHS:
            assert browser.get(path).status_code == 200
        assert browser.post("/dashboard/api/recommend", json={"task": "hi"}).status_code == 200


def test_wrong_keys_and_forged_cookies_are_refused(keyed: Dashboard) -> None:
    _is_401(httpx.get(f"{keyed.url}/dashboard", params={"key": "tw-guess"}))
    value = httpx.get(f"{keyed.url}/dashboard", params={"key": ALICE}).cookies[COOKIE]
    name, _, signature = value.partition(".")
    forged = [f"{name}.{'0' * len(signature)}", f"Ym9i.{signature}", name, ""]
    for cookie in forged:
        _is_401(httpx.get(f"{keyed.url}/dashboard", cookies={COOKIE: cookie}))


def test_another_proxy_does_not_honour_the_cookie(
    keyed: Dashboard, make_dashboard: DashboardFactory, store: Store
) -> None:
    other = make_dashboard(store=store, keyed=True)
    value = httpx.get(f"{keyed.url}/dashboard", params={"key": ALICE}).cookies[COOKIE]
    _is_401(httpx.get(f"{other.url}/dashboard", cookies={COOKIE: value}))


def test_without_client_keys_the_dashboard_is_open(dashboard: Dashboard) -> None:
    for path in PATHS:
        assert httpx.get(dashboard.url + path).status_code == 200
    page = httpx.get(f"{dashboard.url}/dashboard", params={"key": "anything"})
    assert page.status_code == 200  # no keys: ?key= means nothing
    assert "set-cookie" not in page.headers
