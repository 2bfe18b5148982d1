"""The HTML leaderboard is self-contained and renders in headless Chromium (a non-blank screenshot).

CI needs the browser: `apt-get install -y chromium` (Debian). Without it the render test skips.
"""

import base64
import re
import shutil
import subprocess
from argparse import Namespace

import numpy as np
import pytest
from PIL import Image

from benchmark.leaderboard import cmd_leaderboard_full
from tests.test_leaderboard import embedded_records, write_store

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    store = write_store(root / "records", embedded_records())
    args = Namespace(paths=[store], sort_by="avg ppl", baseline="uniform", output_dir=root / "board",
                     format="html", no_plots=False)
    assert cmd_leaderboard_full(args) == 0
    return root / "board" / "leaderboard.html"


def test_page_is_self_contained_with_embedded_pngs(page):
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)          # nothing fetched from outside
    assert "<script" not in html
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 4 * 2 - 1          # bars, avg curve, per-domain curves, trajectories per benchmark
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    for text in ("odm-code-tuned", "yes: 8 trials (st)", "not reached (0/3)", "(baseline)", "embedded-pretrain [60 steps"):
        assert text in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install -y chromium)")
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
