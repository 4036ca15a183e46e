"""HTML building blocks of the report: escaping, elements, tables, and the page shell.

The page is one file with its style sheet and its one script inline; a Content-Security-Policy
forbids the browser any request but ``data:`` images, so nothing is fetched even if a value in
the page looked like a link. Tables are plain HTML, readable with JavaScript off; the script only
lets a click (or Enter) on a column header sort the rows.
"""
from __future__ import annotations

import html
from typing import Iterable, Sequence

CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
:root { --ink: #1d232b; --muted: #5b6470; --line: #d5dae1; --head: #eef1f5; --best: #dff3dc; --err: #a40000; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
       margin: 0 auto; padding: 1.2rem 1.6rem 3rem; max-width: 1240px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .6rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p, li { max-width: 78ch; }
.muted, figcaption { color: var(--muted); font-size: .9rem; }
code { font: .85rem/1.3 ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav ol { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; padding: 0; list-style: none; margin: 1rem 0 0; }
table { border-collapse: collapse; margin: .3rem 0 .5rem; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .25rem .45rem; text-align: left; vertical-align: top; }
th.group-start, td.group-start { border-left: 2px solid #9aa3ad; }
thead th { background: var(--head); }
thead th.group { text-align: center; }
thead td { border: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { background: var(--best); }
td.err { color: var(--err); font-weight: 600; white-space: nowrap; }
td.err a { color: inherit; }
tbody tr:nth-child(even) td:not(.best) { background: #f8f9fb; }
th.sort-on { cursor: pointer; user-select: none; }
th.sort-on::after { content: "\\00a0\\2195"; color: #9aa3ad; }
th[aria-sort="ascending"]::after { content: "\\00a0\\2191"; color: var(--ink); }
th[aria-sort="descending"]::after { content: "\\00a0\\2193"; color: var(--ink); }
ol.errors { font-size: .88rem; color: var(--err); margin: .2rem 0 0; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { margin: .6rem 0 1rem; }
figure img { max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: .6rem 1rem; }
.grid figure { margin: 0; }
.notice { border-left: 4px solid #c98a00; background: #fff7e0; padding: .5rem .8rem; max-width: 78ch; }
.thumbs { display: flex; flex-wrap: wrap; gap: 4px; align-items: flex-start; }
.thumbs img { width: 64px; height: 64px; image-rendering: pixelated; border: 1px solid var(--line); }
.source-row { display: grid; grid-template-columns: 9rem 1fr; gap: .6rem; align-items: center; margin: .3rem 0; }
.mistake-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 0 1.5rem; }
.mistakes { display: flex; flex-wrap: wrap; gap: .5rem; }
.mistakes figure { margin: 0; width: 98px; font-size: .8rem; }
.mistakes img, .mistakes .missing { width: 80px; height: 80px; image-rendering: pixelated; border: 1px solid var(--line); }
.mistakes .missing { display: flex; align-items: center; justify-content: center; text-align: center;
                     font-size: .72rem; color: var(--muted); overflow-wrap: anywhere; padding: 4px; }
.mistakes figcaption { color: var(--ink); font-size: .78rem; line-height: 1.25; }
details summary { cursor: pointer; color: var(--muted); }
td.err summary { color: var(--err); }
table.provenance { font-size: .82rem; }
table.provenance td.nowrap, table.provenance summary { white-space: nowrap; }
"""

SORT_SCRIPT = """
(function () {
  function key(cell) {
    var value = cell.getAttribute('data-sort');
    if (value === null) return cell.textContent.trim().toLowerCase();
    return value === '' ? null : parseFloat(value);
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(headers, function (header, column) {
      header.classList.add('sort-on');
      header.tabIndex = 0;
      header.title = 'sort by this column';
      function sort() {
        var descending = header.getAttribute('aria-sort') !== 'descending';
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute('aria-sort'); });
        header.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          if (x === null || y === null) return (x === null) - (y === null);  // no value: always last
          var order = typeof x === 'number' ? x - y : (x < y ? -1 : x > y ? 1 : 0);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      header.addEventListener('click', sort);
      header.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); sort(); }
      });
    });
  });
})();
"""


def esc(value: object) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def element(name: str, *children: str, **attributes: object) -> str:
    """``<name attributes>children</name>``; children are HTML already, attribute values are
    escaped here (``class_`` is ``class``; ``None`` and ``False`` leave an attribute out)."""
    attrs = "".join(
        f" {key.rstrip('_').replace('_', '-')}" + ("" if value is True else f'="{esc(value)}"')
        for key, value in attributes.items() if value is not None and value is not False
    )
    return f"<{name}{attrs}>{''.join(children)}</{name}>"


def image(uri: str, alt: str, **attributes: object) -> str:
    attrs = "".join(f' {k.rstrip("_")}="{esc(v)}"' for k, v in attributes.items() if v is not None)
    return f'<img src="{uri}" alt="{esc(alt)}"{attrs}>'


def figure(uri: str, alt: str, caption: str = "") -> str:
    """An ``<img>`` with its caption (``caption`` is HTML)."""
    return element("figure", image(uri, alt), element("figcaption", caption) if caption else "")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, sortable: bool = False,
          groups: Sequence[tuple[str, int]] = (), **attributes: object) -> str:
    """A table from header texts (escaped here) and rows of ready ``<td>`` strings.

    ``groups`` adds a header row above, of (text, number of columns) spanning the columns after
    the first; sorting uses the last header row, whose cells match the body's columns.
    """
    classes = " ".join(filter(None, [str(attributes.pop("class_", "") or ""), "sortable" if sortable else ""]))
    head_rows, starts = [], set()
    if groups:
        head_rows.append(element("tr", element("td", ""), *(
            element("th", esc(text), colspan=span, scope="colgroup", class_="group group-start")
            for text, span in groups)))
        starts = {1 + sum(span for _, span in groups[:k]) for k in range(len(groups))}
    head_rows.append(element("tr", *(element("th", esc(h), scope="col", class_="group-start" if i in starts else None)
                                     for i, h in enumerate(header))))
    body = element("tbody", *(element("tr", *row) for row in rows))
    return element("div", element("table", element("thead", *head_rows), body, class_=classes or None, **attributes),
                   class_="scroll")


def definitions(pairs: Iterable[tuple[str, str]]) -> str:
    """A ``<dl>`` of (term text, description HTML) pairs."""
    return element("dl", *(element("dt", esc(term)) + element("dd", text) for term, text in pairs), class_="facts")


def page(title: str, body: str) -> str:
    """The whole document: head with policy, style and title, then ``body`` and the sort script."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n<script>{SORT_SCRIPT}</script>\n</body></html>\n"
    )
