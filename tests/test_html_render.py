"""The HTML leaderboard is self-contained (one inline script, figures embedded), links its records, and
works in headless Chromium: a non-blank screenshot, header clicks that re-order the rows, a filter box
that hides rows.

CI needs the browser: `apt-get install -y chromium` (Debian; `scripts/install.sh --test`). Without it,
or without the `playwright` package (the `test` extra; it drives the system Chromium, no browser
download), the browser tests skip.
"""

import base64
import os
import re
import shutil
import subprocess
from argparse import Namespace
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from benchmark.leaderboard import cmd_leaderboard_full
from tests.test_leaderboard import DOMAINS, embedded_records, flad_record, write_store

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
MLFLOW = "http://mlflow.test:5000"
MAIN = "embedded-pretrain [30 steps"          # the main benchmark's section (the 60-step run is another)
NO_CHROMIUM = "chromium is not installed (CI: apt-get install -y chromium)"
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


def flad_records() -> list[dict]:
    """Two FLAD methods × two targets × two split seeds, with the benchmark's ground-truth arm roles."""
    records = []
    for method, acc in (("explore-only", 0.5), ("exp3-flad", 0.7)):
        for seed in (42, 100):
            for target in ("t1", "t2"):
                record = flad_record(method, seed, target, acc + 0.01 * seed / 100)
                record["final"]["test"].update({"protocol": "t0_rank", "n": 50})
                record["flad"] = {"best_step": 10, "arm_roles": dict(zip(DOMAINS, ("helpful", "neutral", "harmful"))),
                                  "helpful_mass": [0.3, 0.5, 0.6], "helpful_drawn": [0.3, 0.4, 0.6],
                                  "harmful_mass": [0.3, 0.2, 0.1], "helpful_mass_uniform": 1 / 3}
                records.append(record)
    return records


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    records = embedded_records() + flad_records()
    records[0]["mlflow_run_id"] = "abc123"                  # uniform, seed 0: tracked on an MLflow server
    store = write_store(root / "records", records)
    args = Namespace(paths=[store], sort_by="avg ppl", baseline="uniform", output_dir=root / "board",
                     format="html", no_plots=False, mlflow_url=MLFLOW)
    assert cmd_leaderboard_full(args) == 0
    return root / "board" / "leaderboard.html"


def test_page_is_self_contained_with_embedded_pngs(page):
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert not re.search(r"""src=["']?(https?:|//|file:)""", html)          # nothing fetched from outside
    external = re.findall(r"""href=["']?((?:https?:|//|file:)[^"' >]*)""", html)
    assert external and all(link.startswith(MLFLOW + "/#/runs/") for link in external)   # only the MLflow runs
    assert re.findall(r"<script\b[^>]*>", html) == ["<script>"]               # one script, inline (no src=)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 4 * 2 - 1          # bars, avg curve, per-domain curves, trajectories per benchmark
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    for text in ("odm-code-tuned", "yes: 8 trials (st)", "not reached (0/3)", "(baseline)",
                 "embedded-pretrain [60 steps", "Per-domain final metrics", "Per-target test accuracy", "mixture on target t1"):
        assert text in html


def test_rows_link_their_records_and_mlflow_runs(page):
    html = page.read_text()
    links = re.findall(r'<a href="([^"]+\.json)"', html)
    assert links and all(not os.path.isabs(unquote(link)) for link in links)          # relative to the page
    assert all((page.parent / unquote(link)).is_file() for link in links)
    assert f'href="{MLFLOW}/#/runs/abc123"' in html
    assert html.count("/#/runs/") == 1                    # only the tracked record has an MLflow link


def test_empty_columns_are_hidden_in_the_flad_table(page):
    html = page.read_text()
    section = html.split('data-bench="embedded-flad"')[1].split("</table>")[0]
    assert "downstream acc" in section and "avg ppl" not in section and "steps to" not in section


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the `test` extra)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def tab(browser, page):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(page.resolve().as_uri())
    yield opened
    context.close()
    assert not errors, errors


def board(tab, bench=MAIN):
    return tab.locator(f'section[data-bench^="{bench}"] table.board')


def column(tab, index, bench=MAIN):
    """The visible rows' cells of a column of a benchmark's leaderboard table, in DOM order."""
    return board(tab, bench).evaluate(
        f"t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden).map(r => r.cells[{index}].textContent.trim())")


def header_index(tab, text, bench=MAIN):
    headers = board(tab, bench).locator("th").all_inner_texts()
    return next(i for i, h in enumerate(headers) if h.startswith(text))


@needs_chromium
def test_page_renders_in_headless_chromium(page, tmp_path):
    shot = tmp_path / "shot.png"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
               f"--screenshot={shot}", page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 0, result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    colours = np.unique(pixels, axis=0)
    assert len(colours) > 1, "the screenshot is blank"
    assert len(colours) > 50                  # text, table stripes and plots, not a single flat colour
    # The table header colour (#3b6fb6) and the page background are both on screen.
    assert (np.abs(pixels.astype(int) - [0x3B, 0x6F, 0xB6]).sum(axis=1) < 6).any()


@needs_chromium
def test_clicking_a_header_sorts_the_rows(tab):
    methods = column(tab, 0)
    assert methods[0] == "odm-code-tuned"                          # as written: by avg ppl, lowest first
    board(tab).locator("th", has_text="method").click()            # a real mouse click on the header
    assert column(tab, 0) == sorted(methods) != methods
    avg = header_index(tab, "avg ppl")
    for order in ("ascending", "descending"):                     # a second click reverses
        board(tab).locator("th").nth(avg).click()
        values = [float(v.split(" ")[0]) for v in column(tab, avg)]
        assert values == sorted(values, reverse=order == "descending")
        assert board(tab).locator("th").nth(avg).get_attribute("aria-sort") == order


@needs_chromium
def test_missing_values_sort_last_both_ways(tab):
    steps = header_index(tab, "steps to")
    for _ in range(2):                                             # ascending, then descending
        board(tab).locator("th").nth(steps).click()
        cells = column(tab, steps)
        assert cells[-2:] == sorted(cells[-2:]) and set(cells[-2:]) == {"(baseline)", "not reached (0/3)"}
        reached = [float(c.split(" ")[0]) for c in cells[:-2]]
        assert reached in (sorted(reached), sorted(reached, reverse=True))


@needs_chromium
def test_typing_in_the_filter_hides_rows(tab):
    before = column(tab, 0)
    tab.locator("#filter").click()
    tab.keyboard.type("odm")
    assert column(tab, 0) == [m for m in before if "odm" in m] and len(column(tab, 0)) < len(before)
    assert column(tab, 0, "embedded-flad") == []                  # no FLAD method matches
    tab.locator("#filter").fill("")
    assert column(tab, 0) == before
    tab.select_option("#bench", label="embedded-flad")
    assert tab.locator(f'section[data-bench^="{MAIN}"]').is_hidden()
    assert tab.locator('section[data-bench="embedded-flad"]').is_visible()
