"""index.html in a real browser: headless Chromium, offline, driven through selenium.

It checks what only a browser can: the page loads from a file with its scripts allowed by
its own Content-Security-Policy, the embedded plots decode, it opens with the size–similarity
matrix at full size in a 1,300-pixel window, every table can be seen whole, a click on a
header sorts, a name from the database that looks like a script stays text, and nothing is
fetched. ``ZOO_SCREENSHOTS=DIR`` keeps the window's screenshots there.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from test_leaderboard import EVIL, make_rows

import zoo
from zoo.leaderboard.writers import write_leaderboards
from zoo.results.store import ResultsStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH = 1300  # pixels: the window the page must work in

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="headless Chromium is not installed: run `make test` as root on Debian, or apt-get install chromium chromium-driver",
)


@contextmanager
def browser():
    """Offline headless Chromium, its console logged, in a window :data:`WIDTH` wide."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
        driver.set_window_size(WIDTH, 1000)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """index.html of the test database, open in offline headless Chromium."""
    out = tmp_path_factory.mktemp("leaderboards")
    store = ResultsStore(out / "results.sqlite")
    for row in make_rows():
        store.record(row)
    write_leaderboards(zoo.get_zoo(), out)
    with browser() as driver:
        driver.get((out / "index.html").as_uri())
        yield driver


def column(driver, table_id: str, key: str) -> list[str]:
    """The raw sort values of one column, top to bottom."""
    return driver.execute_script(
        "const table = document.getElementById(arguments[0]);"
        "const index = Array.from(table.tHead.rows[0].cells).findIndex(th => th.dataset.key === arguments[1]);"
        "return Array.from(table.tBodies[0].rows, row => row.cells[index].getAttribute('data-sort'));",
        table_id,
        key,
    )


def click_header(driver, table_id: str, key: str) -> str:
    header = driver.find_element(By.CSS_SELECTOR, f'#{table_id} th[data-key="{key}"]')
    header.find_element(By.TAG_NAME, "button").click()
    return header.get_attribute("aria-sort")


def test_the_page_loads_offline_with_tables_and_decoded_plots(page):
    assert page.title == "zoo leaderboard"
    tables = {t.get_attribute("id") for t in page.find_elements(By.CSS_SELECTOR, "table.sortable")}
    assert {"table-verdict", "table-pareto", "table-accuracy", "table-accuracy_failed", "table-speed_inference",
            "table-speed_training", "table-memory", "table-memory_step", "table-memory_trainable", "table-memory_pareto",
            "table-environment"} <= tables  # fmt: skip
    images = page.execute_script("return Array.from(document.images, i => [i.complete, i.naturalWidth, i.src.slice(0, 22)])")
    assert len(images) == 7  # the size–similarity matrix; per task: accuracy–speed, accuracy–memory, heatmap
    assert all(done and width > 0 and src == "data:image/png;base64," for done, width, src in images)
    severe = [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == [], "the page logged errors (a Content-Security-Policy violation?)"


def test_a_header_click_sorts_and_a_second_reverses(page):
    numbers = lambda values: [float(v) for v in values if v]  # noqa: E731
    assert click_header(page, "table-accuracy", "top1_mean_pct") == "ascending"
    ascending = numbers(column(page, "table-accuracy", "top1_mean_pct"))
    assert ascending == sorted(ascending) and len(ascending) == 9
    assert click_header(page, "table-accuracy", "top1_mean_pct") == "descending"
    assert numbers(column(page, "table-accuracy", "top1_mean_pct")) == sorted(ascending, reverse=True)

    for direction in ("ascending", "descending"):  # one-seed cells have no std: last both ways
        assert click_header(page, "table-accuracy", "top1_std_pct") == direction
        stds = column(page, "table-accuracy", "top1_std_pct")
        assert stds[-5:] == [""] * 5 and numbers(stds) == sorted(numbers(stds), reverse=direction == "descending")

    assert click_header(page, "table-accuracy", "seeds") == "ascending"  # numbers, not text: 3 after 1
    assert column(page, "table-accuracy", "seeds") == sorted(column(page, "table-accuracy", "seeds"), key=float)
    assert click_header(page, "table-accuracy", "strategy") == "ascending"
    strategies = column(page, "table-accuracy", "strategy")
    assert strategies == sorted(strategies, key=str.lower) and strategies[0] == "full"


def test_names_from_the_database_stay_text_and_nothing_is_fetched(page):
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert  # noqa: B018
    shown = page.execute_script(
        "return Array.from(document.querySelectorAll('td'), td => td.textContent).filter(t => t === arguments[0]).length", EVIL
    )
    assert shown > 0
    assert page.execute_script("return document.scripts.length") == 1
    fetched = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not [url for url in fetched if url.startswith(("http:", "https:"))]
    sources = page.execute_script("return Array.from(document.querySelectorAll('[src]'), e => e.getAttribute('src'))")
    assert sources and all(src.startswith("data:") for src in sources)


def test_the_page_opens_with_the_matrix_readable_at_full_size(page, tmp_path):
    page.execute_script("window.scrollTo(0, 0)")
    first = page.execute_script(
        "const s = document.querySelector('section'); const img = s.querySelector('img');"
        "const box = img.getBoundingClientRect();"
        "return [s.id, img.alt, box.top, box.bottom, img.clientWidth, img.naturalWidth, window.innerHeight]"
    )
    section, alt, _, bottom, shown, natural, viewport = first
    assert section == "answer" and "size–similarity matrix" in alt
    order = page.execute_script("return Array.from(document.querySelectorAll('section'), s => s.id)")
    assert order[:3] == ["answer", "heatmaps", "verdict"]  # the answer, its heatmaps, then the tables
    assert bottom <= viewport  # the whole figure is on the first screen
    assert shown == natural >= 800  # drawn at its own size: its 9–15 pt text is not scaled down
    shot = Path(os.environ.get("ZOO_SCREENSHOTS", tmp_path)) / "index-1300px-top.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert page.save_screenshot(str(shot))


def test_every_table_fits_the_window_or_scrolls_to_show_all_of_it(page):
    assert page.execute_script("return document.documentElement.scrollWidth") <= page.execute_script("return window.innerWidth")
    boxes = page.execute_script(
        "return Array.from(document.querySelectorAll('div.scroll'), d => [d.querySelector('table').id,"
        " d.querySelector('table').getBoundingClientRect().width, d.clientWidth, d.scrollWidth, getComputedStyle(d).overflowX])"
    )
    assert boxes
    for table, width, visible, scrollable, overflow in boxes:
        assert width <= visible or (overflow == "auto" and scrollable >= int(width)), table
