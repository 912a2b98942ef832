"""The dashboard in headless Chromium: the numbers shown are the store's, the Model Selector
answers as ``recommend()`` does, and a screenshot is kept.

Needs Debian's ``chromium`` and ``chromium-driver`` (the driver matches the browser by
construction, and nothing is downloaded at test time); skipped, saying so, without them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tierwise.analysis.dashboard import static_page
from tierwise.analysis.report import build_report
from tierwise.core.recommend import recommend
from tierwise.core.request import RouteRequest
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

from .conftest import ALICE, Dashboard, DashboardFactory
from .dataset import Expected, expected

SCREENSHOT_DIR_ENV = "TIERWISE_SCREENSHOT_DIR"
TASK = "Refactor the billing module to use dependency injection and add tests for it"


def _find(*names: str) -> str | None:
    return next((path for path in map(shutil.which, names) if path is not None), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,2000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def _fresh_session(browser: WebDriver) -> Iterator[None]:
    """Cookies are per host, not per port: no test sees another proxy's session cookie."""
    yield
    browser.delete_all_cookies()


def _open(browser: WebDriver, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "loading"
    )
    state = browser.find_element(By.TAG_NAME, "body").get_attribute("data-state")
    assert state == "ready", browser.find_element(By.ID, "notice").text


def _text(browser: WebDriver, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def _amount(shown: str) -> tuple[Decimal, Decimal]:
    """A shown figure ("$1,234.57", "75.3%") and half a unit of its last digit."""
    number = re.sub(r"[$,%\s]", "", shown)
    assert re.fullmatch(r"-?\d+(\.\d+)?", number), shown
    places = len(number.partition(".")[2])
    return Decimal(number), Decimal(5) / Decimal(10) ** (places + 1)


def _assert_shows(shown: str, value: Decimal | float, *, scale: int = 1) -> None:
    number, tolerance = _amount(shown)
    assert abs(number - Decimal(str(value)) * scale) <= tolerance, (shown, value)


def _assert_numbers_match(browser: WebDriver, want: Expected) -> None:
    assert _text(browser, "kpi-requests") == str(want.requests)
    _assert_shows(_text(browser, "kpi-spend"), want.cost)
    _assert_shows(_text(browser, "kpi-baseline"), want.baseline)
    _assert_shows(_text(browser, "kpi-savings"), want.savings)
    _assert_shows(_text(browser, "kpi-savings-pct"), want.savings_pct, scale=100)
    _assert_shows(_text(browser, "kpi-cpt-after"), want.cost_per_task)
    _assert_shows(_text(browser, "kpi-cpt-before"), want.baseline_cost_per_task)
    shares = {
        item.get_attribute("data-tier"): item.find_element(By.CLASS_NAME, "share").text
        for item in browser.find_elements(By.CSS_SELECTOR, "#tier-mix li")
    }
    assert set(shares) == set(want.tier_shares)
    for tier, share in want.tier_shares.items():
        _assert_shows(shares[tier], share, scale=100)
    bars = browser.find_elements(By.CSS_SELECTOR, "#daily-chart g.day")
    assert sum(Decimal(bar.get_attribute("data-cost") or "0") for bar in bars) == want.cost


def _screenshot(browser: WebDriver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    browser.execute_script("window.scrollTo(0, 0)")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1300, int(height) + 200)  # the whole page, with room for chrome
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    target = os.environ.get(SCREENSHOT_DIR_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def test_the_page_shows_what_the_store_holds(
    browser: WebDriver, dashboard: Dashboard, records: list[DecisionRecord], tmp_path: Path
) -> None:
    _open(browser, f"{dashboard.url}/dashboard")
    _assert_numbers_match(browser, expected(records))
    rows = browser.find_elements(By.CSS_SELECTOR, "#recent tbody tr")
    assert len(rows) == len(records)
    newest_first = sorted(records, key=lambda r: r.time, reverse=True)
    shown_reasons = [row.find_element(By.CLASS_NAME, "reason").text for row in rows]
    assert shown_reasons == [r.reason for r in newest_first]  # markup in a reason is text
    assert not browser.find_elements(By.CSS_SELECTOR, "#recent b")
    alerts = browser.find_elements(By.CSS_SELECTOR, "#alerts li")
    assert {a.get_attribute("data-alert") for a in alerts} >= {"escalation_rate"}
    _screenshot(browser, tmp_path, "dashboard.png")


def test_the_model_selector_answers_as_recommend_does(
    browser: WebDriver, dashboard: Dashboard, tmp_path: Path
) -> None:
    _open(browser, f"{dashboard.url}/dashboard")
    browser.find_element(By.ID, "selector-task").send_keys(TASK)
    browser.find_element(By.ID, "selector-submit").click()
    selector = browser.find_element(By.ID, "selector")
    WebDriverWait(browser, 20).until(lambda b: selector.get_attribute("data-state") != "waiting")
    assert selector.get_attribute("data-state") == "done", _text(browser, "selector-error")
    want = recommend(RouteRequest(text=TASK), router=dashboard.router).decision
    assert _text(browser, "selector-model") == want.model
    assert _text(browser, "selector-tier") == want.tier.value
    assert _text(browser, "selector-reason") == want.reason
    _screenshot(browser, tmp_path, "dashboard-selector.png")


def test_a_bad_task_type_is_shown_as_the_proxys_error(
    browser: WebDriver, dashboard: Dashboard
) -> None:
    _open(browser, f"{dashboard.url}/dashboard")
    browser.find_element(By.ID, "selector-task").send_keys("Sort these names")
    browser.find_element(By.ID, "selector-task-type").send_keys("juggling")
    browser.find_element(By.ID, "selector-submit").click()
    selector = browser.find_element(By.ID, "selector")
    WebDriverWait(browser, 20).until(lambda b: selector.get_attribute("data-state") == "error")
    assert _text(browser, "selector-error").startswith("task_type: unknown task type 'juggling'")


def test_a_browser_logs_in_with_key_once(
    browser: WebDriver,
    make_dashboard: DashboardFactory,
    store: Store,
    records: list[DecisionRecord],
) -> None:
    keyed = make_dashboard(store=store, keyed=True)
    _open(browser, f"{keyed.url}/dashboard?key={ALICE}")
    assert "key=" not in browser.current_url
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: not for scripts
    _assert_numbers_match(browser, expected(records))
    _open(browser, f"{keyed.url}/dashboard")  # the cookie carries the session
    assert _text(browser, "kpi-requests") == str(len(records))


def test_without_recording_the_page_says_so(
    browser: WebDriver, make_dashboard: DashboardFactory
) -> None:
    bare = make_dashboard(store=None)
    _open(browser, f"{bare.url}/dashboard")
    assert "Recording is off" in _text(browser, "notice")
    assert not browser.find_element(By.ID, "report").is_displayed()
    assert browser.find_element(By.ID, "selector-form").is_displayed()


def test_the_html_file_shows_the_same_numbers_offline(
    browser: WebDriver, store: Store, records: list[DecisionRecord], tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(static_page(build_report(store, by="tier").as_json()), encoding="utf-8")
    _open(browser, path.as_uri())
    _assert_numbers_match(browser, expected(records))
    assert browser.find_element(By.ID, "selector-offline").is_displayed()
    assert not browser.find_element(By.ID, "selector-submit").is_enabled()
    _screenshot(browser, tmp_path, "dashboard-static.png")
