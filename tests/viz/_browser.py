"""Headless Chromium for the explorer's tests (and the screenshot in the docs).

``open_browser()`` gives a selenium WebDriver on Debian's ``chromium`` + ``chromium-driver`` (or skips the
calling test when they or selenium are missing). Run this file to remake the documentation's screenshot::

    python tests/viz/_browser.py docs/explorer-backward.png
"""

from __future__ import annotations

import shutil
import sys

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is not installed."""
    browser = next((path for path in map(shutil.which, BINARIES) if path), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def open_browser(width: int = 1280, height: int = 900):
    """A headless Chromium WebDriver (the caller quits it); raises ``RuntimeError`` when unavailable."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        raise RuntimeError(f"selenium is not installed ({error})") from None
    found = find_chromium()
    if found is None:
        raise RuntimeError("chromium and chromedriver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", "--no-first-run", f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(found[1]), options=options)


def set_viewport(driver, width: int, height: int, mobile: bool = False) -> None:
    """Emulate a screen of ``width`` × ``height`` CSS pixels (a phone with ``mobile=True``)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def press(driver, key: str, times: int = 1) -> None:
    """Press a key (selenium's ``Keys`` name, e.g. "ARROW_RIGHT") on the page ``times`` times."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(times):
        body.send_keys(getattr(Keys, key))


def regularised_logistic_trace():
    """The notes' worked example: z = wx + b, y = σ(z), L = ½(y − t)², R = ½w², L_reg = L + λR."""
    import chainrule
    import chainrule.numpy as cnp
    from chainrule.viz import trace

    x, t, lam = chainrule.tensor(2.0, name="x"), chainrule.tensor(1.0, name="t"), chainrule.tensor(0.1, name="λ")

    def regularised_loss(w, b):
        z = w * x + b
        y = cnp.sigmoid(z)
        L = 0.5 * (y - t) ** 2
        R = 0.5 * w ** 2
        L_reg = L + lam * R
        return L_reg

    return trace(regularised_loss, 0.5, -0.5)


def make_screenshot(png: str, html: str = "/tmp/chainrule-explorer.html") -> None:
    """Write ``png``: the explorer on the notes' example, mid-backward at w̄ = z̄ x + R̄ w (a fan-out sum)."""
    tr = regularised_logistic_trace()
    tr.to_html(html)
    driver = open_browser(1280, 820)
    try:
        driver.get("file://" + html)
        press(driver, "ARROW_RIGHT", len(tr) * 2)  # the last backward step is w̄, the sum over two children
        driver.execute_script("window.scrollTo(0, 0); document.getElementById('graphbox').scrollTo(0, 0);")
        driver.save_screenshot(png)
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.path.insert(0, ".")
    make_screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/explorer-backward.png")
