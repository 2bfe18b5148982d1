"""Progress output: the formatting helpers, the terminal bar vs plain log lines, real tiny runs
(pre-training and FLAD) printing totals, `--no-progress`, and results unchanged by the bar."""

import contextlib
import io
import json
import re

import pytest

from benchmark import progress
from benchmark.cli import main
from benchmark.config import resolve_config
from benchmark.progress import (RunClock, StepProgress, bar_line, describe, eta_seconds, format_duration,
                                format_left, format_top, top_weights)
from benchmark.runner import execute, prepare_run

from tests.conftest import TINY

PLAIN = re.compile(r"^step (\d+)/(\d+) \((\d+)%\)( loss \d+\.\d\d)? ETA (\d+:\d\d:\d\d|--:--)( top: .+)?$")


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def progress_lines(text):
    return [line for line in text.splitlines() if line.startswith("step ") and "/" in line.split()[1]]


def test_duration_and_eta():
    assert format_duration(70) == "0:01:10" and format_duration(3725.4) == "1:02:05"
    assert format_duration(None) == "--:--" and format_duration(float("inf")) == "--:--"
    assert eta_seconds(0, 10, 5.0) is None                   # nothing done yet: unknown
    assert eta_seconds(10, 30, 5.0) == pytest.approx(15.0)   # 2 steps/s, 30 to go
    assert format_left(20) == "under a minute left" and format_left(4 * 60) == "about 4 min left"
    assert format_left(80 * 60) == "about 1 h 20 min left"


def test_top_weights_and_line_text():
    domains, weights = ["books", "code", "web", "wiki"], [0.12, 0.18, 0.31, 0.39 - 1e-9]
    assert top_weights(domains, weights, 2) == [("wiki", pytest.approx(0.39)), ("web", 0.31)]
    assert format_top(domains, weights) == "wiki 0.39, web 0.31, code 0.18"
    assert format_top(domains, None) == ""
    assert format_top(["aux_00", "aux_01", "target"], [0.0, 0.001, 0.999]) == "target 1.00"
    text = describe(120, 500, 3.2071, 70.0, format_top(domains, weights))
    assert text == "120/500 (24%) loss 3.21 ETA 0:01:10 top: wiki 0.39, web 0.31, code 0.18"
    assert describe(1, 4, float("nan"), None, "") == "1/4 (25%) ETA --:--"


def test_terminal_line_never_wraps():
    text = describe(60, 60, 2.9, 0.0, "web 0.10, books 0.10, wiki 0.10")
    assert bar_line(30, 60, text, 200).startswith("█" * 12 + "░" * 12 + " 60/60")
    for columns in (80, 60, 20):
        assert len(bar_line(30, 60, text, columns)) == columns - 1 or len(text) + 1 < columns


def test_plain_lines_every_tenth_and_the_last_step():
    out = Pipe()
    bar = StepProgress(25, out)
    bar.start()
    for step in range(1, 18):   # stops early at 17: close() still reports where it ended
        bar.update(step, 3.0, "web 0.50")
    bar.close()
    lines = out.getvalue().splitlines()
    assert [int(PLAIN.match(line).group(1)) for line in lines] == [3, 6, 9, 12, 15, 17]
    assert "\r" not in out.getvalue()


def test_terminal_bar_redraws_in_place_and_logs_above_it(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    out = Pipe()
    bar = StepProgress(4, out, tty=True)
    bar.start()
    log = bar.around(lambda message: out.write(message + "\n"))
    bar.update(1, 3.0, "code 0.70")
    log("step 1: val acc 0.500")
    bar.update(4, 2.0, "code 0.90")
    bar.close()
    text = out.getvalue()
    assert text.count("\r\033[K") >= 3 and text.endswith("4/4 (100%) loss 2.00 ETA 0:00:00 top: code 0.90\n")
    assert "\r\033[Kstep 1: val acc 0.500\n" in text   # the bar is wiped before the log line
    assert "####" in text                                # no block characters on an ASCII stream


def test_run_clock_estimates_from_the_mean_run_time():
    now = iter([0.0, 120.0, 360.0])
    clock = RunClock(10, clock=lambda: next(now))
    assert clock.header("uniform seed 0 on embedded-pretrain") == "[1/10] uniform seed 0 on embedded-pretrain"
    assert clock.header("b") == "[2/10] b — about 18 min left"     # 9 runs × 2 min
    assert clock.header("c") == "[3/10] c — about 24 min left"     # 8 runs × 3 min (mean of 2 and 4)


@pytest.fixture(scope="module")
def piped_run(tmp_path_factory):
    """A tiny real run with progress on and stdout a pipe (as in a batch job's log)."""
    tmp = tmp_path_factory.mktemp("piped")
    out = Pipe()
    with contextlib.redirect_stdout(out):
        record, _ = execute(prepare_run(resolve_config("embedded-pretrain", "odm-code", 0, TINY), tmp), tmp,
                            progress=True, track=False)
    return record, out.getvalue()


def test_piped_training_prints_plain_lines_with_totals(piped_run):
    record, text = piped_run
    lines = progress_lines(text)
    assert "\r" not in text and "Epoch" not in text
    matches = [PLAIN.match(line) for line in lines]
    assert all(matches), lines
    assert [int(m.group(1)) for m in matches] == list(range(2, 17, 2))    # 16 steps, a line per ~10%
    assert {m.group(2) for m in matches} == {"16"} and matches[-1].group(3) == "100"
    assert all(m.group(4) and m.group(6) for m in matches)                 # loss and top weights shown
    domains = set(record["mixture"]["domains"])
    assert all(set(re.findall(r"(\w+) \d\.\d\d", m.group(6))) <= domains for m in matches)


def test_no_progress_prints_no_progress_lines_and_leaves_results_unchanged(piped_run, tmp_path, capsys):
    argv = ["run", "--method", "odm-code", "--no-tracking", "--no-progress", "--output-dir", str(tmp_path)]
    assert main(argv + [arg for item in TINY for arg in ("--set", item)]) == 0
    out = capsys.readouterr()
    assert progress_lines(out.out + out.err) == []
    assert "[1/1] odm-code seed 0 on embedded-pretrain" in out.out
    (path,) = (tmp_path / "records").glob("*.json")
    quiet = json.loads(path.read_text())
    shown = piped_run[0]
    for key in ("final", "curves", "mixture", "downstream", "sampling"):
        assert quiet[key] == shown[key], key   # the bar only reads: bitwise identical results


def test_flad_loop_reports_through_its_log(tmp_path):
    from benchmark.flad.runner import run_flad

    from tests.test_flad_runs import TINY as FLAD_TINY

    out = Pipe()
    with contextlib.redirect_stdout(out):
        run_flad("embedded-flad", "exp3-flad", seeds=[42], targets="tgt_c", overrides=FLAD_TINY, output_dir=tmp_path)
    logged = out.getvalue().splitlines()
    assert "[1/1] exp3-flad on embedded-flad/tgt_c split seed 42" in logged
    lines = [PLAIN.match(line) for line in logged if line.startswith("step ")]
    assert [int(m.group(1)) for m in lines] == [1, 2, 3, 4] and all(m.group(6) for m in lines)
