"""The web page at ``/`` in a real headless browser (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium), against a real ``zkinfer serve``: the page loads under
its Content-Security-Policy without a console error, lists a job that a test request created
and shows it done (by its public reference), verifies a pasted proof JSON (accepted), a
tampered one (rejected, the reason shown), a pasted proof id and an uploaded ``.zkp`` file, and
shows a hostile string as text. The public job list leaks no id, input, output or key (checked
over plain HTTP, without a browser).

The browser tests skip only when chromium, chromedriver or selenium is absent. The browser and
its driver are the system's (``/usr/bin/chromium``, ``/usr/bin/chromedriver``, or
``ZKINFER_CHROMIUM`` / ``ZKINFER_CHROMEDRIVER``): the Service is given the driver's path, so
Selenium Manager never runs and nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.service.conftest import Server, http, new_key

pytestmark = pytest.mark.usefixtures("server_deps")

CHROMIUM = os.environ.get("ZKINFER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("ZKINFER_CHROMEDRIVER") or shutil.which("chromedriver")
                or "/usr/bin/chromedriver")
WAIT = 20.0  # seconds for one thing to appear on the page


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_deps):
    db = tmp_path_factory.mktemp("web") / "z.db"
    s = Server(db, models=("tiny",), workers=1).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def done_job(server):
    """A job made by a test request, proven and verified by the client: ``(result, job JSON)``."""
    from zkinfer.client import Client

    client = Client(server.url, api_key=new_key(server.db), trusted_keys=server.digests(),
                    check_receipts=False)
    [result] = client.embed("web page", model="tiny")
    assert result.wait_verified(timeout=240)
    status, _, job = http("GET", f"{server.url}/v1/proofs/{result.proof_id}")
    assert status == 200 and job["status"] == "done"
    return result, job


def test_the_public_job_list_shows_no_id_input_or_key(server, done_job):
    from zkinfer.service.store import public_ref

    result, job = done_job
    status, headers, body = http("GET", f"{server.url}/v1/jobs/recent?limit=5")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    rows = body["data"]
    assert rows and all(set(r) == {"ref", "model", "kind", "status", "stage", "percent",
                                   "created", "finished"} for r in rows)
    mine = next(r for r in rows if r["ref"] == public_ref(result.proof_id))
    assert mine["status"] == "done" and mine["model"] == "tiny" and job["ref"] == mine["ref"]
    _, _, everything = http("GET", f"{server.url}/v1/jobs/recent")
    text = json.dumps(everything)
    assert result.proof_id not in text and "key_" not in text and "statement" not in text
    for bad in ("0", "201", "x"):
        status, _, err = http("GET", f"{server.url}/v1/jobs/recent?limit={bad}")
        assert status == 400 and err["error"]["param"] == "limit"


def test_the_page_and_its_files_carry_the_security_headers(server):
    status, headers, page = http("GET", server.url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script src=\"/web/app.js\"" in page and b"innerHTML" not in page
    status, headers, js = http("GET", server.url + "/web/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"innerHTML" not in js and b"insertAdjacentHTML" not in js and b"eval(" not in js
    for bad in ("/web/nope.js", "/web/..%2Fapp.py", "/web/"):
        status, _, _ = http("GET", server.url + bad)
        assert status == 404, bad


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                    "(pip install selenium)")
    for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            pytest.skip(f"{what} is not installed at {path} (apt-get install chromium "
                        "chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--no-first-run", "--window-size=1280,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver's path given: Selenium Manager does not run (nothing is downloaded)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(condition)
    except Exception as exc:
        from selenium.common.exceptions import TimeoutException

        if isinstance(exc, TimeoutException):
            raise AssertionError(f"{what}: not seen in {WAIT} s; page text:\n"
                                 + driver.find_element("tag name", "body").text[:3000]) from None
        raise


def _verdict(driver, verify):
    """Run ``verify()`` (a paste or an upload) and return ``(verdict, reason, model, key)``."""
    before = driver.find_element("id", "verdict")
    driver.execute_script("arguments[0].dataset.verdict = 'stale';", before)
    verify()
    _wait(driver, lambda d: d.find_element("id", "verdict").get_attribute("data-verdict")
          in ("accepted", "rejected"), "a verdict")
    get = driver.find_element
    return (get("id", "verdict").get_attribute("data-verdict"), get("id", "reason").text,
            get("id", "result-model").text, get("id", "result-key").text)


def _paste(driver, text: str):
    def run():
        box = driver.find_element("id", "proof-input")
        # what a paste does: the text lands in the box (send_keys of a long proof is slow)
        driver.execute_script("arguments[0].value = arguments[1];", box, text)
        driver.find_element("id", "verify-button").click()
    return run


def test_the_page_lists_the_job_and_verifies_pasted_and_uploaded_proofs(browser, server,
                                                                        done_job, tmp_path):
    import base64

    from zkinfer.service.store import public_ref

    t0 = time.monotonic()
    result, job = done_job
    driver = browser
    driver.get(server.url + "/")
    assert "zkinfer" in driver.title
    # the job of the test request is listed, by its public reference, and shows done
    ref = public_ref(result.proof_id)
    row = _wait(driver, lambda d: d.find_elements("css selector", f'tr[data-ref="{ref}"]'),
                "the test's job in the list")[0]
    _wait(driver, lambda d: d.find_element("css selector", f'tr[data-ref="{ref}"]')
          .get_attribute("data-status") == "done", "the job shown done")
    row = driver.find_element("css selector", f'tr[data-ref="{ref}"]')
    assert "done" in row.text and "tiny" in row.text and "100 %" in row.text
    assert result.proof_id not in driver.page_source  # the id is not public
    models = driver.find_element("id", "models-body").text
    assert job["key_digest"] in models

    # a pasted proof JSON (GET /v1/proofs/{id}): accepted, with its statement and key digest
    verdict, reason, model, key = _verdict(driver, _paste(driver, json.dumps(job)))
    assert (verdict, reason, model, key) == ("accepted", "", "tiny", job["key_digest"])
    shown_input = driver.find_element("id", "result-input").text
    assert shown_input.startswith(", ".join(str(i) for i in job["statement"]["input"]))
    assert str(job["statement"]["output"][0]) in driver.find_element("id", "result-output").text

    # tampered: one output value changed -> rejected, and the verifier's reason is shown
    bad = json.loads(json.dumps(job))
    bad["statement"]["output"][0] += 1
    verdict, reason, model, _ = _verdict(driver, _paste(driver, json.dumps(bad)))
    assert verdict == "rejected" and model == "tiny" and reason, reason
    # tampered proof bytes: rejected too (the server's 400 message is the reason)
    raw = bytearray(base64.b64decode(job["proof"]))
    raw[8:16] = b"\xff" * 8
    broken = {**job, "proof": base64.b64encode(bytes(raw)).decode()}
    verdict, reason, _, _ = _verdict(driver, _paste(driver, json.dumps(broken)))
    assert verdict == "rejected" and reason, reason

    # a pasted proof id: the page fetches the proof and verifies it
    verdict, reason, _, key = _verdict(driver, _paste(driver, result.proof_id))
    assert (verdict, reason, key) == ("accepted", "", job["key_digest"])

    # an uploaded .zkp file (raw proof bytes)
    path = tmp_path / "answer.zkp"
    path.write_bytes(base64.b64decode(job["proof"]))
    upload = driver.find_element("id", "proof-file")
    verdict, reason, model, key = _verdict(driver, lambda: upload.send_keys(str(path)))
    assert (verdict, reason, model, key) == ("accepted", "", "tiny", job["key_digest"])

    # a hostile string is shown as text, never parsed as HTML
    hostile = json.dumps({"status": "<img src=x id=pwned onerror=alert(1)>", "percent": 0})
    verdict, reason, _, _ = _verdict(driver, _paste(driver, hostile))
    assert verdict == "rejected" and "<img" in reason
    assert not driver.find_elements("id", "pwned")

    # no script error and no Content-Security-Policy violation in the console
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
              and "/v1/verify" not in e["message"]]  # the 400 answers above are logged
    assert not errors, errors
    print(f"\nbrowser part: {time.monotonic() - t0:.1f} s")
