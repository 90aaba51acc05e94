"""``zoo recommend --html``: the report page, in headless Chromium as the leaderboard page is.

It loads offline under its own Content-Security-Policy, draws the size–similarity matrix with
the suite's four tasks and the folder, keeps a folder name that looks like markup as text, and
states the answer first.
"""

from __future__ import annotations

import shutil

import pytest
from selenium.webdriver.common.by import By
from test_leaderboard_html import CHROMEDRIVER, CHROMIUM, browser
from test_recommend import mini_home, pretrained, quick_mini, run, task_folders  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="headless Chromium is not installed: run `make test` as root on Debian, or apt-get install chromium chromium-driver",
)

ODD = "photos <b>&amp; 'x'"  # a folder name that must stay text


@pytest.fixture
def report(task_folders, pretrained, tmp_path, capsys):  # noqa: F811
    folder = tmp_path / ODD
    shutil.copytree(task_folders["digits_small"], folder)
    page = tmp_path / "report.html"
    code, out, err = run(capsys, folder, "--arch", "simple_cnn", "--html", page, "--results", tmp_path / "none.sqlite")
    assert code == 0, err
    assert f"report: {page}" in out
    return page


def test_the_report_opens_offline_with_the_matrix_and_the_answer_first(report):
    text = report.read_text()
    assert ODD not in text and "photos &lt;b&gt;&amp;amp; &#x27;x&#x27;" in text  # escaped wherever it is shown
    with browser() as page:
        page.get(report.as_uri())
        assert page.title == f"zoo recommend: {report.parent / ODD}"
        first = page.find_element(By.CSS_SELECTOR, "p.answer").text
        assert first.startswith("Fine-tune simple_cnn") and "Q3, small and different" in first
        circles = page.execute_script("return Array.from(document.querySelectorAll('#matrix circle'), c => [c.getAttribute('class'), c.dataset.label])")
        assert sorted(label for kind, label in circles if kind == "task") == ["digits_large", "digits_small", "fashion_footwear_large",
                                                                             "fashion_footwear_small"]  # fmt: skip
        assert [label for kind, label in circles if kind == "folder"] == [str(report.parent / ODD)]
        box = page.find_element(By.ID, "matrix").rect
        assert box["width"] == 640 and box["height"] == 420
        assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
