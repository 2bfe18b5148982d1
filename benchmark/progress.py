"""Readable training progress: one bar per run (optimizer steps / total, ETA, loss, top mixture
weights), plain log lines when the output is not a terminal, and an overall ETA across runs.

`StepProgress` draws for any loop (the FLAD loop calls it directly); `MixtureProgressBar` adapts it to
Lightning. Progress code only reads training state, so results stay bitwise identical.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from lightning.pytorch.callbacks import ProgressBar

BAR_WIDTH = 24
MIN_BAR_WIDTH = 8
REDRAW_SECONDS = 0.1   # a terminal bar redrawn on every step would cost more than tiny steps do
PLAIN_LINES = 10       # non-terminal output: about one line per 10% of the run


def format_duration(seconds: float | None) -> str:
    """H:MM:SS, or --:-- while unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    whole = int(round(max(seconds, 0.0)))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def eta_seconds(done: int, remaining: int, elapsed: float) -> float | None:
    """Time for `remaining` steps at the rate seen so far (`done` steps in `elapsed` seconds)."""
    if done <= 0 or elapsed <= 0:
        return None
    return max(remaining, 0) * elapsed / done


def top_weights(domains: Sequence[str], weights: Sequence[float], k: int = 3) -> list[tuple[str, float]]:
    """The k heaviest domains, heaviest first (ties keep task order)."""
    order = sorted(range(len(weights)), key=lambda i: -float(weights[i]))
    return [(domains[i], float(weights[i])) for i in order[:k]]


def format_top(domains: Sequence[str], weights: Sequence[float] | None, k: int = 3) -> str:
    """`web 0.31, code 0.18, books 0.12`, or '' before the strategy has logged a mixture. Domains
    that would read 0.00 are left out (Target-Only: `target 1.00`)."""
    if weights is None or len(weights) == 0:
        return ""
    return ", ".join(f"{name} {w:.2f}" for name, w in top_weights(domains, weights, k) if w >= 0.005)


def current_mixture(strategy: Any) -> list[float] | None:
    """The newest logged mixture (the one the trajectory records); O(1), unlike weight_trajectory()."""
    history = getattr(strategy, "history", None)
    return history[-1].weights if history else None


def describe(step: int, total: int, loss: float | None, eta: float | None, top: str) -> str:
    """The text shared by the terminal bar and the plain lines: `120/500 (24%) loss 3.21 ETA ...`."""
    parts = [f"{step}/{total} ({100 * step // max(total, 1)}%)"]
    if loss is not None and math.isfinite(loss):
        parts.append(f"loss {loss:.2f}")
    parts.append(f"ETA {format_duration(eta)}")
    if top:
        parts.append(f"top: {top}")
    return " ".join(parts)


def bar(step: int, total: int, width: int = BAR_WIDTH, glyphs: str = "█░") -> str:
    filled = width * min(step, total) // max(total, 1)
    return glyphs[0] * filled + glyphs[1] * (width - filled)


def bar_line(step: int, total: int, text: str, columns: int, glyphs: str = "█░") -> str:
    """Bar + text in `columns` - 1 characters (a wrapped line cannot be redrawn by \r): the bar
    shrinks first (down to MIN_BAR_WIDTH), then the text is cut."""
    width = min(BAR_WIDTH, columns - 2 - len(text))
    line = f"{bar(step, total, width, glyphs)} {text}" if width >= MIN_BAR_WIDTH else text
    return line[:columns - 1]


def bar_glyphs(stream: TextIO) -> str:
    """Block characters where the terminal's encoding has them (a failed write would end the run)."""
    try:
        "█░".encode(getattr(stream, "encoding", None) or "ascii")
        return "█░"
    except (UnicodeEncodeError, LookupError):
        return "#-"


class StepProgress:
    """Progress of one run's optimizer steps: a redrawn bar on a terminal, else plain lines.

    emit: where plain lines go (default: print to stdout), so a caller's own log can take them.
    """

    def __init__(self, total: int, stream: TextIO | None = None, emit: Callable[[str], None] | None = None,
                 tty: bool | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.glyphs = bar_glyphs(self.stream)
        self.emit = emit or (lambda line: print(line, file=self.stream, flush=True))
        self.start_step = 0
        self.started = time.perf_counter()
        self.next_line = 0
        self.last_draw = -math.inf
        self.latest: tuple[int, str] | None = None   # (step, text) of the newest update
        self.shown = True                             # the newest update is on screen / in the log

    def start(self, step: int = 0) -> None:
        """Begin at `step` (a resumed run starts at its checkpoint; the ETA counts from here)."""
        self.start_step, self.started = step, time.perf_counter()
        self.next_line = self._next_mark(step)

    def _next_mark(self, step: int) -> int:
        every = max(1, math.ceil(self.total / PLAIN_LINES))
        return min((step // every + 1) * every, self.total)

    def update(self, step: int, loss: float | None = None, top: str = "") -> None:
        eta = eta_seconds(step - self.start_step, self.total - step, time.perf_counter() - self.started)
        self.latest, self.shown = (step, describe(step, self.total, loss, eta, top)), False
        now = time.perf_counter()
        if self.tty and (step >= self.total or now - self.last_draw >= REDRAW_SECONDS):
            self._show()
            self.last_draw = now
        elif not self.tty and step >= self.next_line:
            self._show()
            self.next_line = self._next_mark(step)

    def _show(self) -> None:
        """Redraw the bar (terminal) or emit one plain line with the newest update."""
        if self.latest is None:
            return
        step, text = self.latest
        if self.tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r\033[K" + bar_line(step, self.total, text, columns, self.glyphs))
            self.stream.flush()
        else:
            self.emit(f"step {text}")
        self.shown = True

    def around(self, log: Callable[[str], None]) -> Callable[[str], None]:
        """`log`, printed above the bar instead of through it."""
        def logged(message: str) -> None:
            drawn = self.tty and self.latest is not None
            if drawn:
                self.stream.write("\r\033[K")
            log(message)
            if drawn:
                self._show()
        return logged

    def close(self) -> None:
        """Show the final state (an early stop or interruption included), then end the bar's line."""
        if not self.shown:
            self._show()
        if self.tty and self.latest is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.latest, self.shown = None, True


class MixtureProgressBar(ProgressBar):
    """Lightning's progress bar for pre-training: counts optimizer steps (not micro-batches) of the
    run's whole budget and shows the step's mean loss and the strategy's heaviest domains."""

    def __init__(self, total_steps: int, strategy: Any, stream: TextIO | None = None) -> None:
        super().__init__()
        self.total_steps, self.strategy, self.stream = total_steps, strategy, stream
        self.progress: StepProgress | None = None
        self.enabled = True

    def disable(self) -> None:   # Lightning calls this on ranks other than 0
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if self.enabled:
            self.progress = StepProgress(self.total_steps, self.stream)
            self.progress.start(trainer.global_step)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.progress is None:
            return
        loss = trainer.progress_bar_metrics.get("train/loss")   # one training_step = one optimizer step
        top = format_top(self.strategy.domains, current_mixture(self.strategy))
        self.progress.update(trainer.global_step, None if loss is None else float(loss), top)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._finish()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._finish()   # the error message then starts on its own line

    def _finish(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None


class RunClock:
    """`[k/N] label — about 4 min left` headers for multi-run commands, from the mean run time so far."""

    def __init__(self, total: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.total, self.clock = total, clock
        self.index = 0
        self.seconds: list[float] = []
        self._started: float | None = None

    def header(self, label: str) -> str:
        """The header of the next run; also starts timing it (the previous one ends here)."""
        now = self.clock()
        if self._started is not None:
            self.seconds.append(now - self._started)
        self._started, self.index = now, self.index + 1
        left = ""
        if self.seconds:
            left = f" — {format_left(sum(self.seconds) / len(self.seconds) * (self.total - self.index + 1))}"
        return f"[{self.index}/{self.total}] {label}{left}"


def format_left(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes < 1:
        return "under a minute left"
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"
