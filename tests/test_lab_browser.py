"""The live lab in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``)
driven by selenium against a real uvicorn server on 127.0.0.1.

Skipped, with the reason shown, where Chromium is missing; mandatory where
``NNSCRATCH_BROWSER_TESTS=1`` (`.ci/run` installs Chromium and sets it). Screenshots go to
``$NNSCRATCH_SCREENSHOTS`` (default: the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
REQUIRED = os.environ.get("NNSCRATCH_BROWSER_TESTS") == "1"
missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
if missing and REQUIRED:
    raise RuntimeError(f"NNSCRATCH_BROWSER_TESTS=1 but {', '.join(missing)} not installed")
pytestmark = pytest.mark.skipif(
    bool(missing),
    reason=f"no headless Chromium here ({', '.join(missing)} missing): "
    "apt-get install chromium chromium-driver to run the browser tests",
)


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from nnscratch.lab.live.server import Lab, create_app

    lab = Lab()  # a free loopback port and a token: the browser opens the printed URL
    config = uvicorn.Config(
        create_app(lab), host=lab.host, port=lab.port, log_level="warning", ws="websockets-sansio"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield lab.url, lab
    srv.should_exit = True
    thread.join(10)
    lab.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nnscratch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, read below
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("NNSCRATCH_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def until(driver, script, limit=600.0):
    """Poll a JavaScript expression until it is truthy; its value. ``limit`` (seconds) only
    catches a hang: far above any run on a busy machine, never a speed requirement."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        value = driver.execute_script("return " + script)
        if value:
            return value
        time.sleep(0.1)
    state = driver.execute_script(
        "return [typeof lab === 'undefined' ? null : lab.state, document.getElementById('banner').textContent]"
    )
    raise AssertionError(f"never true: {script} (state, banner: {state})")


def load(driver, url):
    driver.get(url)
    until(driver, "typeof lab !== 'undefined' && lab.state === 'ready' && lab.scene !== null")


def set_form(driver, values):
    """Fill the settings form as a user would (select options, typed numbers), then apply."""
    for name, value in values.items():
        driver.execute_script(
            "const e = document.querySelector(`[name=${arguments[0]}]`); e.value = arguments[1];"
            "e.dispatchEvent(new Event('change'))",
            name,
            str(value),
        )
    driver.execute_script(
        "lab.scene = null; banner(''); document.getElementById('apply').click()"
    )  # the answer sets the scene or shows an error in the banner
    until(driver, "lab.scene !== null || !document.getElementById('banner').hidden")


def shoot(driver, shots, name, width=1400, height=1300):
    viewport(driver, width, height)
    driver.save_screenshot(str(shots / f"{name}.png"))


def viewport(driver, width, height):
    """The page's own size (not the window's, whose frame varies), laid out before returning."""
    size = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
    until(driver, f"innerWidth === {width} && innerHeight === {height}")


def console_errors(driver):
    """What the page logged as errors since the last call (a 404, an exception)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def top(driver, selector, edge="top"):
    return driver.execute_script(
        f"return document.querySelector({selector!r}).getBoundingClientRect().{edge}"
    )


def test_play_the_loss_falls_and_the_boundary_changes(server, browser, shots):
    url, _ = server
    load(browser, url)
    browser.execute_script("document.getElementById('speed').value = '0'")  # fastest
    set_form(browser, {"data": "builtin:moons", "model": "mlp", "epochs": 300, "lr": 0.03})
    browser.execute_script("document.getElementById('add-layer').click()")
    browser.execute_script("document.getElementById('add-layer').click()")
    set_form(browser, {})
    until(browser, "lab.scene !== null && lab.lastPrediction !== null")
    before = browser.execute_script("return document.getElementById('scene').toDataURL()")
    first = browser.find_element("id", "loss-value").text
    browser.find_element("id", "play").click()
    until(browser, "lab.state === 'done'")
    after = browser.execute_script("return document.getElementById('scene').toDataURL()")
    shown = float(browser.find_element("id", "loss-value").text)
    losses = browser.execute_script("return lab.records.map(r => r.train_loss)")
    assert first == "–" and shown == pytest.approx(losses[-1], rel=1e-3)
    assert losses[-1] < 0.5 * losses[0]
    assert before != after  # the boundary moved
    shoot(browser, shots, "lab-desktop")
    viewport(browser, 1400, 900)
    browser.execute_script("window.scrollTo(0, 0)")
    assert top(browser, ".panel:has(#curves)", "bottom") <= 900  # all above the fold
    assert top(browser, "#code", "bottom") <= 900
    hidden = [int(n) for n in browser.execute_script("return lab.config.hidden").split(",")]
    maps = browser.find_elements("css selector", "#network image")  # one per hidden unit drawn
    assert len(hidden) >= 2 and len(maps) == sum(min(n, 12) for n in hidden)
    shoot(browser, shots, "lab-narrow", 420, 1000)
    browser.execute_script("document.getElementById('code').scrollIntoView()")
    shoot(browser, shots, "lab-narrow-code", 420, 1000)
    wide = browser.execute_script(
        "const c = document.getElementById('code');"
        "const d = document.documentElement;"
        "return [d.scrollWidth - d.clientWidth, c.scrollWidth - c.clientWidth]"
    )
    assert wide == [0, 0]  # nothing scrolls sideways at 420 px, the code panel neither
    assert console_errors(browser) == []  # no 404 (the icon), no exception
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_five_steps_highlight_moves_and_numbers_are_explains(server, browser, shots, capsys):
    from nnscratch.run.cli import main

    url, _ = server
    load(browser, url)
    set_form(browser, {"n_samples": 8, "lr": 0.1})
    until(browser, "lab.scene !== null && lab.state === 'ready'")
    seen = []
    for i in range(5):
        browser.find_element("id", "phase").click()
        until(browser, f"lab.step && lab.step.index === {i}")
        seen.append(
            browser.find_element("css selector", "#code span.active").get_attribute("data-line")
        )
        if i == 1:
            loss_shown = float(browser.find_element("id", "step-loss").text)
        if i == 2:
            browser.execute_script("document.getElementById('numbers').scrollIntoView()")
            shoot(browser, shots, "lab-step-backward", height=1000)
            assert "agrees" in browser.find_element("id", "numbers").text
    assert seen == ["forward", "loss", "backward", "update", "reset"]
    capsys.readouterr()
    main(["explain", "--json", "--steps", "1", "--n-samples", "8", "--lr", "0.1"])
    explained = json.loads(capsys.readouterr().out)[0]
    assert loss_shown == pytest.approx(explained["loss"]["value"], rel=1e-4)
    page_record = browser.execute_script("return lab.step.record")
    assert page_record["update"] == explained["update"]
    net = browser.execute_script(
        "const r = document.getElementById('network').getBoundingClientRect(); return [r.width, r.height]"
    )
    assert net[1] < 0.5 * net[0]  # the seed's 1 → 1 network: no large empty box

    # then, without waiting: moons, apply and play; the click goes to the new run
    browser.execute_script(
        "document.querySelector('[name=data]').value = 'builtin:moons';"
        "document.querySelector('[name=n_samples]').value = '100';"
        "document.querySelector('[name=epochs]').value = '30';"
        "document.getElementById('apply').click(); document.getElementById('play').click()"
    )
    until(browser, "lab.state === 'done' && lab.config.data === 'builtin:moons'")
    assert browser.execute_script("return lab.scene.kind") == "map"
    epochs = browser.execute_script("return lab.records.map(r => r.epoch)")
    assert epochs == list(range(1, 31))
    assert browser.find_element("id", "epoch").text == "30"  # the header is the new run's
    assert console_errors(browser) == []


def test_negative_learning_rate_shows_the_field_and_reason(server, browser, shots):
    url, _ = server
    load(browser, url)
    set_form(browser, {"lr": -0.5})
    banner = until(
        browser,
        "!document.getElementById('banner').hidden && document.getElementById('banner').textContent",
    )
    assert banner.startswith("lr: --lr must be a finite number > 0")
    row = browser.find_element("css selector", "[data-field=lr]")
    assert "field-error" in row.get_attribute("class")
    shoot(browser, shots, "lab-error")


def test_the_code_panel_shows_step_3_as_the_chosen_backward_computes_it(server, browser, shots):
    url, _ = server
    load(browser, url)
    console_errors(browser)  # drained: an earlier test's page may have logged its own (a 400)

    def line():
        return browser.execute_script(
            "return document.querySelector('#code [data-line=backward]').textContent"
        )

    assert line().startswith("    loss.backward()")
    for value, want in (
        ("manual", "loss_and_grads(model, loss_fn, xb, yb)# 3. by hand: nnscratch.backprop"),
        ("engine", "loss.backward()# 3. backward: nnscratch.autograd"),
        ("autograd", "loss.backward()# 3. backward"),
    ):
        browser.execute_script(
            "const e = document.getElementById('backward'); e.value = arguments[0];"
            "e.dispatchEvent(new Event('change'))",
            value,
        )
        assert line() == "    " + want, (value, line())
        if value == "manual":
            shoot(browser, shots, "lab-code-manual", height=900)
    assert not console_errors(browser)


def test_upload_a_csv_and_train_on_it(server, browser, shots, tmp_path):
    url, _ = server
    load(browser, url)
    csv = tmp_path / "hours.csv"
    csv.write_text(
        "hours,score\n" + "".join(f"{h},{2.5 * h + 3 + (h % 3) * 0.2}\n" for h in range(40))
    )
    browser.execute_script("document.getElementById('speed').value = '0'")  # fastest
    bad = tmp_path / "bad.csv"
    bad.write_text("hours,score\n1,2,3\n4,5\n")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    browser.find_element("id", "file").send_keys(str(bad))
    message = until(browser, "document.querySelector('.field-msg')")
    assert "bad.csv" in message.text
    assert 0 <= message.rect["y"] - browser.execute_script("return scrollY") <= 1000  # in view
    browser.find_element("id", "file").send_keys(str(csv))
    until(browser, "lab.config && lab.config.data === 'upload' && lab.state === 'ready'")
    assert browser.execute_script("return lab.scene.kind") == "curve"
    browser.find_element("id", "play").click()
    until(browser, "lab.state === 'done'")
    browser.find_element("id", "copy").click()
    command = until(browser, "document.getElementById('command').textContent")
    assert "--data hours.csv" in command
    r2 = browser.execute_script("return lab.records[lab.records.length - 1].val.r2")
    assert r2 > 0.9
    shoot(browser, shots, "lab-upload")


def test_forgotten_reset_pitfall_shows_its_symptom(server, browser, shots):
    url, _ = server
    load(browser, url)
    set_form(browser, {"pitfall": "no-zero-grad", "epochs": 60, "lr": 0.1})
    until(browser, "lab.scene !== null")
    assert "grad" in browser.find_element("id", "pitfall-text").text
    browser.execute_script(
        "const s = document.getElementById('pitfall'); s.value = 'none';"
        "s.dispatchEvent(new Event('change'))"
    )
    assert browser.find_element("id", "pitfall-text").text == ""  # back on none: no text
    browser.find_element("id", "play").click()
    until(browser, "lab.state === 'done'")
    losses = browser.execute_script("return lab.records.map(r => r.train_loss)")
    rises = sum(b > a for a, b in zip(losses, losses[1:], strict=False))
    assert rises >= 3  # the loss swings instead of settling
    shoot(browser, shots, "lab-pitfall")
    run = browser.execute_script("return lab.run")
    browser.find_element("id", "reset").click()  # a new run, the same scene: it is drawn
    until(browser, f"lab.run === {run + 1} && lab.state === 'ready' && lab.lastPrediction")


def test_train_live_page_is_read_only(browser, shots, capsys):
    from nnscratch.lab.live.feed import start
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    data = prepare(TrainConfig(data="builtin:circles", model="mlp", hidden="8,8", epochs=80))
    feed, stop = start(
        data, "nnscratch train --lr 0.1 --data builtin:circles --model mlp --hidden 8,8"
    )
    url = capsys.readouterr().err.split("live: ")[1].split()[0]
    try:
        result = train(data, feed.log(None), on_build=feed.on_build)
        browser.get(url)  # the run still "running": its controls are the command line's
        until(browser, "typeof lab !== 'undefined' && lab.records.length === 80")
        assert browser.execute_script("return lab.state") == "running"
        for control in ("pause", "stop"):
            assert browser.find_element("id", control).get_attribute("disabled"), control
        feed.end(None)
        until(browser, "lab.state === 'done'")
        for control in ("play", "pause", "step", "phase", "reset", "stop", "speed"):
            assert browser.find_element("id", control).get_attribute("disabled"), control
        lines = browser.execute_script(  # the data set's name on one line: no word broken
            "const c = document.getElementById('command'), r = new Range();"
            "for (const e of c.querySelectorAll('*')) if (e.textContent.includes('builtin:circles'))"
            "  r.selectNodeContents(e.firstChild);"
            "return r.getClientRects().length"
        )
        assert lines == 1
        assert "--data builtin:circles --model" in browser.find_element("id", "command").text
        assert "read-only" in browser.find_element("id", "banner").text
        shown = browser.execute_script("return lab.records.map(r => r.train_loss)")
        assert shown == [r["train_loss"] for r in result.records]
        shoot(browser, shots, "lab-live-readonly")
    finally:
        stop(0)


def test_sklearn_iris_csv_as_it_comes_then_with_the_csv_options(server, browser, shots):
    """Issue 18: sklearn's own iris.csv, uploaded as it is, says that line 1 is read as names
    (at the upload); with skip rows 1 and no header row it is iris, and it trains."""
    import sklearn

    iris = Path(sklearn.__file__).parent / "datasets" / "data" / "iris.csv"
    url, _ = server
    load(browser, url)
    browser.execute_script("document.getElementById('speed').value = '0'")  # fastest
    browser.find_element("id", "file").send_keys(str(iris))
    warning = until(
        browser,
        "lab.config && lab.config.data === 'upload' && document.querySelector('.field-msg.warn')",
    )
    assert "iris.csv: line 1" in warning.text and "--skip-rows 1" in warning.text
    assert browser.execute_script("return lab.scene.target") == "virginica"  # misread, and said
    viewport(browser, 1400, 900)
    browser.save_screenshot(str(shots / "lab-iris-as-it-comes.png"))
    set_form(browser, {"skip_rows": 1})  # the header still on: line 2 is not names
    message = until(browser, "document.querySelector('[data-field=skip_rows] + .field-msg')")
    assert "line 2" in message.text and "--no-header" in message.text
    browser.execute_script("document.querySelector('[name=header]').click()")  # unticked
    set_form(browser, {"epochs": 60})
    assert browser.execute_script("return document.querySelector('.field-msg')") is None
    scene = browser.execute_script("return lab.scene")
    assert (scene["target"], scene["n_classes"], scene["n_features"]) == ("x4", 3, 4)
    assert scene["features"] == ["x0", "x1", "x2", "x3"]
    config = browser.execute_script("return lab.config")
    assert (config["skip_rows"], config["header"], config["delimiter"]) == (1, False, ",")
    browser.find_element("id", "play").click()
    until(browser, "lab.state === 'done'")
    assert browser.execute_script("return lab.records.length") == 60
    assert browser.execute_script("return lab.records[lab.records.length - 1].val.accuracy") > 0.8
    browser.find_element("id", "copy").click()
    command = until(browser, "document.getElementById('command').textContent")
    assert "--no-header --skip-rows 1" in command and "--data iris.csv" in command
    viewport(browser, 1400, 900)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(shots / "lab-iris-csv-options.png"))
