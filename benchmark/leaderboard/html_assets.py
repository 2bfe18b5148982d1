"""The leaderboard page's inline style and script (no CDN, no external file: the page works offline),
and the filter controls the script drives."""

from __future__ import annotations

import html

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px 32px; color: #1d2330;
       background: #ffffff; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 20px; margin-top: 36px; border-bottom: 2px solid #3b6fb6; padding-bottom: 4px; }
h3 { font-size: 16px; margin-top: 22px; }
p.note { color: #4a5263; font-size: 13px; max-width: 1100px; }
div.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 13px; margin: 10px 0 18px 0; }
caption { caption-side: bottom; text-align: left; font-size: 12px; color: #4a5263; padding-top: 4px; }
th { background: #3b6fb6; color: #fff; padding: 6px 8px; text-align: left; position: sticky; top: 0;
     cursor: pointer; user-select: none; }
th::after { content: ' \\2195'; opacity: 0.45; }
th[aria-sort=ascending]::after { content: ' \\25B2'; opacity: 1; }
th[aria-sort=descending]::after { content: ' \\25BC'; opacity: 1; }
td { border-bottom: 1px solid #d9dee8; padding: 5px 8px; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #f2f5fa; }
tr.baseline td { font-style: italic; }
td.best { font-weight: bold; color: #0b6e3a; }
td.links a { margin-right: 4px; font-size: 12px; }
td.links a.mlflow { color: #0a7d8c; }
div.controls { display: flex; gap: 14px; align-items: center; margin: 14px 0; padding: 8px 12px; background: #eef2f9;
               border: 1px solid #d9dee8; border-radius: 4px; font-size: 13px; }
div.controls input { width: 260px; padding: 4px 6px; font-size: 13px; }
figure { margin: 10px 0 22px 0; }
figcaption { font-size: 12px; color: #4a5263; }
img { max-width: 100%; border: 1px solid #e1e5ee; }
"""

# Click a header: sort its table's rows by that column (numbers numerically, "—" and empty values last in
# both directions; a second click reverses). Type in the filter: rows whose method / task / benchmark do not
# contain every word are hidden. The benchmark selector shows one benchmark's section.
SCRIPT = r"""
(function () {
  function key(td) {
    if (!td) return null;
    var text = td.textContent.trim();
    var v = td.getAttribute('data-v');
    if (text === '\u2014' || text === '' || v === '') return null;
    if (v === null) { var m = text.match(/^[+-]?\d+(\.\d+)?(e[+-]?\d+)?/i); v = m ? m[0] : null; }
    if (v !== null && !isNaN(parseFloat(v))) return parseFloat(v);
    return text.toLowerCase();
  }
  function compare(a, b, dir) {
    if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
    if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
    return dir * (typeof a === 'number' ? a - b : a.localeCompare(b, undefined, {numeric: true}));
  }
  function sortBy(th) {
    var headers = Array.prototype.slice.call(th.parentNode.children);
    var col = headers.indexOf(th);
    var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    headers.forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    var body = th.closest('table').tBodies[0];
    Array.prototype.slice.call(body.rows)
      .map(function (r, i) { return {row: r, key: key(r.cells[col]), i: i}; })
      .sort(function (x, y) { return compare(x.key, y.key, dir) || x.i - y.i; })
      .forEach(function (x) { body.appendChild(x.row); });
  }
  function applyFilter() {
    var words = document.getElementById('filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var bench = document.getElementById('bench').value;
    var shown = 0;
    document.querySelectorAll('section.bench').forEach(function (s) {
      s.hidden = bench !== '' && s.getAttribute('data-bench') !== bench;
    });
    document.querySelectorAll('table.sortable tbody tr').forEach(function (r) {
      var hay = r.getAttribute('data-filter') || '';
      r.hidden = !words.every(function (w) { return hay.indexOf(w) >= 0; });
      var section = r.closest('section');
      if (!r.hidden && !(section && section.hidden) && r.closest('table.board')) shown++;
    });
    document.getElementById('shown').textContent = shown + ' leaderboard row(s) shown';
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });
  document.getElementById('filter').addEventListener('input', applyFilter);
  document.getElementById('bench').addEventListener('change', applyFilter);
  applyFilter();
})();
"""


def controls_html(benchmarks: list[str]) -> str:
    """The filter box and the benchmark selector (driven by SCRIPT)."""
    options = "".join(f'<option value="{html.escape(b)}">{html.escape(b)}</option>' for b in benchmarks)
    return ('<div class="controls"><label>Filter rows <input id="filter" type="search" '
            'placeholder="method, strategy or task (all words must match)" autocomplete="off"></label>'
            f'<label>Benchmark <select id="bench"><option value="">all</option>{options}</select></label>'
            '<span id="shown"></span><span>Click a column header to sort.</span></div>')


def script_html() -> str:
    return f"<script>{SCRIPT}</script>"
