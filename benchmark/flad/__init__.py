"""The FLAD benchmark family: few-shot targets + auxiliary datasets (T0Mix, P3, embedded twin).

Entry points: `run_flad` (runs → result records), `flad_table` / `format_flad_table` (tables).
Documented in docs/methods/flad-bandits.md and docs/benchmarks.md (Albalak, Raffel, Wang 2023, arXiv 2302.00674).
"""

from .report import flad_table, format_flad_table
from .runner import resolve_flad_config, run_flad

__all__ = ["run_flad", "resolve_flad_config", "flad_table", "format_flad_table"]
