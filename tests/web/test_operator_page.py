"""The operator page in a real headless Chromium (Debian's ``chromium``, driven by Playwright,
which downloads no browser of its own): log in, report a card, see it in the list and the
audit log, reinstate it through the confirmation dialog, and see a 403 for an auditor who
tries to report. Nothing is loaded from anywhere but the service, and the page raises no
error in the browser's console (a content security policy violation would).

Screenshots go to ``$HOTCAST_SCREENSHOTS`` when set, else to the test's tmp folder. Skipped
with the reason when Playwright or a Chromium binary is missing (CI installs Debian's
``chromium``; ``$HOTCAST_CHROMIUM`` names another binary).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "center"))

from center_helpers import NOW, PASSPHRASE  # noqa: E402
from service_helpers import CARD, make_env  # noqa: E402

from center.service import start_http  # noqa: E402

pytestmark = pytest.mark.browser


def _chromium() -> str | None:
    named = os.environ.get("HOTCAST_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                                   "(pip install playwright; no browser download needed)")
    binary = _chromium()
    if binary is None:
        pytest.skip("no Chromium found: apt-get install chromium (or set $HOTCAST_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, headless=True,
                                    args=["--no-sandbox"])  # the tests may run as root
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("HOTCAST_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def served(tmp_path):
    env = make_env(tmp_path)
    env.status = {"updated_at": NOW, "running": True, "warnings": [], "channels": [
        {"name": "fm-north", "profile": "fm", "state": "on_air", "behind_s": 0,
         "on_air": [{"kind": "full", "epoch": 1, "seq": 1}], "last_error": None,
         "cycle_s": 9.5, "worst_wait_s": 1.2}]}
    env.schedule_rows = [{"channel": "fm-north", "at": NOW + 600 * i, "what": "carousel",
                          "kind": "full", "seq": 1} for i in range(1, 4)]
    service = start_http(env.home_path, "127.0.0.1:0", passphrase=PASSPHRASE, clock=env.clock,
                         operators=env.operators, status=lambda: env.status,
                         schedule=lambda hours: env.schedule_rows)
    yield env, service
    service.stop()


class Watch:
    """Every request a page makes and every console error it logs."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def _log_in(page, url: str, token: str) -> None:
    page.goto(f"{url}/ui/")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_selector("header .who")


def test_an_operator_reports_a_card_and_sees_it_in_the_list_and_the_audit_log(browser, served,
                                                                              shots):
    env, service = served
    context = browser.new_context()
    page = context.new_page()
    watch = Watch(page)
    _log_in(page, service.url, env.tokens["operator"])
    assert "fm-north" in page.inner_text("#on-air")
    assert "carousel" in page.inner_text("#schedule")
    assert page.locator("#stats svg").count() == 3
    page.screenshot(path=str(shots / "1-overview.png"), full_page=True)

    page.fill("#report-card", CARD)
    page.select_option("#report-reason", "fraud")
    page.fill("#report-note", "customer called the desk")
    page.click("#report")
    page.wait_for_selector("#flash")
    assert f"card {CARD} listed (fraud)" in page.inner_text("#flash")
    assert "On the hot list: fraud" in page.inner_text("#status")
    page.screenshot(path=str(shots / "2-reported.png"), full_page=True)

    page.goto(f"{service.url}/ui/cards")
    assert CARD in page.inner_text("#cards-table")
    page.screenshot(path=str(shots / "3-list.png"), full_page=True)
    page.goto(f"{service.url}/ui/audit")
    audit = page.inner_text("#audit-table")
    assert CARD in audit and "http 127.0.0.1: customer called the desk" in audit
    page.screenshot(path=str(shots / "4-audit.png"), full_page=True)

    page.goto(f"{service.url}/ui/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.fill("#reinstate-card", CARD)
    page.click("#reinstate")
    page.wait_for_selector("#flash")
    assert "reinstated" in page.inner_text("#flash")
    assert "Not on the hot list" in page.inner_text("#status")

    assert all(u.startswith(service.url) for u in watch.urls), watch.urls
    assert watch.errors == []
    context.close()


def test_an_auditor_who_tries_to_report_sees_403(browser, served, shots):
    env, service = served
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, service.url, env.tokens["auditor"])
    before = env.state()
    page.fill("#report-card", CARD)
    with page.expect_response(f"{service.url}/ui/report") as answer:
        page.click("#report")
    assert answer.value.status == 403
    page.wait_for_selector("#error")
    assert "403 Forbidden" in page.inner_text("h1")
    assert "role auditor may not change" in page.inner_text("#error")
    page.screenshot(path=str(shots / "5-auditor-403.png"), full_page=True)
    assert env.state() == before
    context.close()


def test_a_wrong_token_stays_on_the_login_page(browser, served, shots):
    env, service = served
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{service.url}/ui/login")
    page.fill("#token", "hc_not-a-token")
    with page.expect_response(f"{service.url}/ui/login") as answer:
        page.click("#login")
    assert answer.value.status == 401
    assert "unknown or revoked" in page.inner_text("#error")
    page.screenshot(path=str(shots / "0-login-refused.png"))
    context.close()
