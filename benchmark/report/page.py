"""The report page: one section per question a reader asks of a run, in reading order.

Header (what ran, on what, with which code), leaderboards, detection ROC, closed-world confusion
matrices, open-world ROC and rejection thresholds, robustness, the dataset (thumbnails and each
detector's most confident mistakes), and the provenance of every cell.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ganprint
from ganprint.benchmark.leaderboard import PROTOCOLS, group_name, present_protocols, protocol_values
from ganprint.benchmark.report import confusion, mistakes, robustness, roc
from ganprint.benchmark.report.encode import figure_uri, image_uri
from ganprint.benchmark.report.gather import ReportData
from ganprint.benchmark.report.html import definitions, element, esc, figure, image, page, table
from ganprint.benchmark.store import CellResult
from ganprint.interfaces import REAL
from ganprint.protocol import REJECTION_ACCEPT

SAMPLES_PER_SOURCE = 8
MISTAKES_PER_DETECTOR = 5
SKIPPED_SHOWN = 50
SHORT = {"confidence": "conf."}
SECTIONS = [("leaderboards", "Leaderboards"), ("detection", "Detection"), ("closed-world", "Closed world"),
            ("open-world", "Open world"), ("robustness", "Robustness"), ("dataset", "Dataset"),
            ("provenance", "Provenance")]


def render_page(data: ReportData, store_path: Path | str | None = None) -> str:
    """The whole HTML document of ``data``."""
    body = [
        _header(data),
        element("nav", element("ol", *(element("li", element("a", esc(t), href=f"#{i}")) for i, t in SECTIONS)),
                aria_label="sections"),
        _leaderboards(data),
        _detection(data),
        _closed_world(data),
        _open_world(data),
        _robustness(data),
        _dataset(data),
        _provenance(data),
        element("footer", element("p", esc(
            f"Written by ganprint {ganprint.__version__}"
            + (f" from the results store {store_path}" if store_path is not None else "")
            + ". Every figure is drawn from the per-image predictions the store kept for the run; nothing was "
              "re-fitted."), class_="muted")),
    ]
    return page(f"ganprint report: {data.run.dataset} ({data.run.run_id})", "\n".join(body))


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _section(anchor: str, title: str, *parts: str) -> str:
    return element("section", element("h2", esc(title)), *parts, id=anchor)


def _note(text: str) -> str:
    return element("p", text, class_="muted")


def _header(data: ReportData) -> str:
    run = data.run
    reused = [c for c in data.cells if c.run_id != run.run_id]
    failed = [c for c in data.cells if not c.ok]
    plugins = ", ".join(f"{esc(p)} ({esc(v)})" for p, v in run.versions.get("plugins", {}).items()) or "none"
    dataset = esc(run.dataset) + (element("span", esc(f" ({run.dataset_spec})"), class_="muted")
                                  if run.dataset_spec and run.dataset_spec != run.dataset else "")
    cells = f"{len(data.cells)} ({len(failed)} failed" + (
        f", {len(reused)} reused from earlier runs by --resume" if reused else "") + ")"
    facts = [
        ("Dataset", dataset),
        ("Content hash", element("code", esc(run.dataset_hash))),
        ("Seed", esc(run.seed)),
        ("Date", esc(f"{_time(run.started)}, {run.finished - run.started:.0f} s")),
        ("Command", element("code", esc(run.command or "not recorded"))),
        ("ganprint", esc(f"{run.versions.get('ganprint', '?')} (Python {run.versions.get('python', '?')})")),
        ("Plugins", plugins),
        ("Cells", esc(cells)),
        ("Run id", element("code", esc(run.run_id))),
    ]
    return element("header", element("h1", esc(f"Benchmark report: {run.dataset}")), definitions(facts))


# -- leaderboards ---------------------------------------------------------------------------------

def condition(cell: CellResult) -> str:
    """How a cell's test images were seen, in words: ``clean``, ``jpeg``, ``jpeg immunized``."""
    return "clean" if cell.attack == "none" and not cell.immunized else cell.attack + (" immunized" if cell.immunized else "")


def _leaderboards(data: ReportData) -> str:
    footnote = {c.key: i + 1 for i, c in enumerate(c for c in data.cells if not c.ok)}
    parts = [_note("The best value of each column is bold on green. A click on a column header sorts the rows "
                   "(the tables read the same without JavaScript). ERR links to the error underneath.")]
    immunized: dict[str, list[str]] = {}
    for detector, how in {c.detector: c.provenance.get("immunization", "refit") for c in data.cells if c.immunized}.items():
        immunized.setdefault(how, []).append(detector)
    if immunized:
        parts.append(_note("“immunized”: trained on training images under the same attack ("
                           + esc("; ".join(f"{how}: {', '.join(ds)}" for how, ds in immunized.items())) + ")."))
    conditions = {group_name(c): condition(c) for c in data.cells}
    for protocol in present_protocols(data.cells):
        values = protocol_values(data.cells, protocol)
        if not values.detectors:
            continue
        starts = {j for j, c in enumerate(values.columns) if j == 0 or values.columns[j - 1].group != c.group}
        rows, cited = [], {}
        for d in values.detectors:
            row = [element("th", esc(d), scope="row")]
            for j in range(len(values.columns)):
                edge = " group-start" if j in starts else ""
                if (d, j) in values.failed:
                    cell = values.failed[(d, j)]
                    n = footnote[cell.key]
                    cited[n] = cell
                    row.append(element("td", element("a", f"ERR [{n}]", href=f"#err-{protocol}-{n}"),
                                       class_="err" + edge, data_sort="", title=cell.error or ""))
                elif (d, j) in values.values:
                    v = values.values[(d, j)]
                    text = f"{v:.3f}"
                    best = values.is_best(d, j)
                    row.append(element("td", element("strong", text) if best else text,
                                       class_=("num best" if best else "num") + edge, data_sort=repr(v)))
                else:
                    row.append(element("td", "—", class_="num" + edge, data_sort=""))
            rows.append(row)
        labels = dict(PROTOCOLS[protocol][1])
        groups = list(dict.fromkeys(c.group for c in values.columns))
        spans = [(conditions[g], sum(c.group == g for c in values.columns)) for g in groups] if len(groups) > 1 else []
        header = ["detector"] + [labels[c.metric] for c in values.columns]
        parts.append(element("h3", esc(PROTOCOLS[protocol][0])))
        parts.append(table(header, rows, sortable=True, groups=spans, class_="leaderboard", data_protocol=protocol))
        if cited:
            parts.append(element("ol", *(
                element("li", esc(f"{c.detector} / {condition(c)}: {c.error}"), value=n, id=f"err-{protocol}-{n}")
                for n, c in sorted(cited.items())), class_="errors"))
    return _section("leaderboards", "Leaderboards", *parts)


# -- detection and open world ---------------------------------------------------------------------

def _group(cell: CellResult) -> str:
    return str(cell.provenance.get("plugin") or cell.detector)


def _colours(data: ReportData) -> dict[str, str]:
    return roc.colours([(c.detector, _group(c)) for c in data.clean_cells()])


def _detection(data: ReportData) -> str:
    curves, n_real = [], 0
    for cell in data.clean_cells():
        rows = data.predictions.get(cell.key, [])
        if "detection" not in cell.metrics or not rows or "scores" not in rows[0]:
            continue
        positive = [r["labels"] != REAL for r in rows]
        n_real = max(n_real, positive.count(False))
        fpr, tpr = roc.roc_points(positive, [r["scores"] for r in rows])
        curves.append(roc.Curve(cell.detector, _group(cell), fpr, tpr, cell.metrics["detection"]["auc"]))
    if not curves:
        return _section("detection", "Detection", _note("No detection results on clean test images in this run."))
    floor = roc.log_floor(n_real)
    drawn = roc.roc_figure(curves, title="Real vs generated, clean test images", colour_of=_colours(data),
                           xlabel="false-positive rate (real images called generated), log scale",
                           ylabel="true-positive rate", legend="{label} (AUC {area:.3f})", log_floor=floor)
    caption = (f"ROC of each detector on {n_real} real and the generated test images. An FPR of 0 is drawn at "
               f"the left edge ({floor * 100:.2g}%); the dotted line is 1% FPR, where the leaderboard's TPR@1%FPR "
               "is read. "
               "Curves are grouped by plugin, at most "
               f"{roc.MAX_CURVES_PER_PANEL} a panel; legends list the best AUC first.")
    return _section("detection", "Detection", figure(figure_uri(drawn), "detection ROC curves", esc(caption)))


def _open_world(data: ReportData) -> str:
    curves, rows_html = [], []
    for cell in data.clean_cells():
        results = cell.metrics.get("open_world")
        rows = data.predictions.get(cell.key, [])
        if results is None or not rows or "open_confidence" not in rows[0]:
            continue
        held_out = list(results.get("held_out", []))
        known = [r["labels"] not in held_out for r in rows]
        confidence = [r["open_confidence"] for r in rows]
        threshold = results.get("rejection_threshold")
        point = roc.operating_point(known, confidence, threshold) if threshold is not None and any(known) \
            and not all(known) else None
        if "auroc" in results:
            fpr, tpr = roc.roc_points(known, confidence)
            curves.append(roc.Curve(cell.detector, _group(cell), fpr, tpr, results["auroc"], point))
        rows_html.append([
            element("th", esc(cell.detector), scope="row"),
            element("td", esc(", ".join(held_out) or "none")),
            element("td", esc("not recorded" if threshold is None else f"{threshold:.4g}"), class_="num",
                    data_sort="" if threshold is None else repr(threshold)),
            _number(None if point is None else point[1]),
            _number(None if point is None else point[0]),
            _number(results.get("acc")),
            _number(results.get("auroc")),
        ])
    if not rows_html:
        return _section("open-world", "Open world", _note("No open-world results on clean test images in this run."))
    parts = []
    if curves:
        drawn = roc.roc_figure(curves, title="Known vs unknown sources, clean test images", colour_of=_colours(data),
                               xlabel="unknown images accepted as known (FPR)",
                               ylabel="known images accepted (TPR)", legend="{label} (AUROC {area:.3f})")
        parts.append(figure(figure_uri(drawn), "open-world ROC curves", esc(
            "Each attributor is refitted without the held-out sources and ranks test images by confidence; "
            "the dot is where its rejection threshold operates.")))
    parts.append(table(["detector", "held-out sources", "rejection threshold", "known accepted",
                        "unknown accepted", "open-world acc", "AUROC"], rows_html, sortable=True))
    parts.append(_note(f"The threshold on confidence accepts {REJECTION_ACCEPT:.0%} of the clean val images of "
                       "known sources; below it an image is called “unknown”. “Known accepted” and “unknown "
                       "accepted” are the shares of test images of known and held-out sources at or above it."))
    return _section("open-world", "Open world", *parts)


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return element("td", "—", class_="num", data_sort="")
    return element("td", f"{value:.{digits}f}", class_="num", data_sort=repr(float(value)))


# -- closed world ---------------------------------------------------------------------------------

def _closed_world(data: ReportData) -> str:
    figures = []
    for cell in data.clean_cells():
        results = cell.metrics.get("closed_world")
        if not results or "confusion" not in results:
            continue
        true, predicted, fractions = confusion.row_normalised(results["confusion"]["labels"],
                                                              results["confusion"]["matrix"])
        drawn = confusion.confusion_figure(true, predicted, fractions, f"{cell.detector} (acc {results['acc']:.3f})")
        figures.append(figure(figure_uri(drawn), f"confusion matrix of {cell.detector}"))
    if not figures:
        return _section("closed-world", "Closed world", _note("No closed-world results on clean test images."))
    return _section("closed-world", "Closed world",
                    _note("Confusion matrices on clean test images, each row (a true source) normalised to 1."),
                    element("div", *figures, class_="grid"))


# -- robustness -----------------------------------------------------------------------------------

def _robustness(data: ReportData) -> str:
    parts = []
    attacks = robustness.attacks_of(data.cells)
    for attack in attacks:
        bars = robustness.robustness_bars(data.cells, attack)
        if not bars:
            parts.append(_note(f"{esc(attack)}: no result."))
            continue
        drawn = robustness.robustness_figure(bars, attack)
        parts.append(figure(figure_uri(drawn), f"robustness to {attack}", esc(
            "Each protocol's first leaderboard metric on clean test images, on attacked ones, and on attacked "
            "ones after immunization (when the run had --immunize).")))
    if not attacks:
        parts.append(_note("This run applied no attack (`bench run --attacks none,jpeg,blur --immunize` adds "
                           "attacked and immunized results)."))
    grouped = robustness.latest_sweeps(data.sweeps)
    if grouped:
        parts.append(element("h3", "Sweeps"))
        for items in grouped.values():
            commands = "; ".join(dict.fromkeys(f"{r.command or 'bench sweep'} ({_time(r.finished)})" for _, r in items))
            parts.append(figure(figure_uri(robustness.sweeps_figure(items, _colours(data))), "sweep curves",
                                esc(f"From {commands}.")))
    else:
        parts.append(_note("No sweep recorded in the store for this dataset content and seed "
                           "(`bench sweep ... --store` records them)."))
    return _section("robustness", "Robustness", *parts)


# -- dataset --------------------------------------------------------------------------------------

def _dataset(data: ReportData) -> str:
    if not data.images.available:
        return _section("dataset", "Dataset", element(
            "p", esc(f"No thumbnails: {data.images.problem}."), class_="notice"))
    parts = [element("h3", "Test images per source")]
    for source, samples in data.images.test_samples(SAMPLES_PER_SOURCE).items():
        thumbs = "".join(image(image_uri(img), f"{source} test image {i}", title=i) for i, img in samples)
        parts.append(element("div", element("strong", esc(source)), element("div", thumbs, class_="thumbs"),
                             class_="source-row"))
    parts.append(element("h3", "Most confident mistakes on clean test images"))
    parts.append(_note("Under each image: its true source in bold, → what the detector called it, and the "
                       "detector's confidence (“conf.”; its score, for a detector that does not attribute)."))
    chosen: dict[str, list[mistakes.Mistake]] = {}
    blocks = []
    for cell in data.clean_cells():
        rows = data.predictions.get(cell.key, [])
        threshold = cell.metrics.get("detection", {}).get("threshold")
        chosen[cell.detector] = mistakes.confident_mistakes(rows, MISTAKES_PER_DETECTOR, threshold)
    images = data.images.read([m.image_id for found in chosen.values() for m in found])
    for detector, found in chosen.items():
        if not found:
            blocks.append(element("div", element("h4", esc(detector)), _note("No mistake on the test images.")))
            continue
        shown = []
        for m in found:
            caption = f"<b>{esc(m.true)}</b><br>→ {esc(m.predicted)}<br>{esc(SHORT.get(m.measure, m.measure))} {m.confidence:.3g}"
            picture = image(image_uri(images[m.image_id]), m.image_id, title=m.image_id) \
                if m.image_id in images else element("span", esc(f"{m.image_id} could not be read"), class_="missing")
            shown.append(element("figure", picture, element("figcaption", caption)))
        blocks.append(element("div", element("h4", esc(detector)), element("div", *shown, class_="mistakes")))
    parts.append(element("div", *blocks, class_="mistake-grid"))
    return _section("dataset", "Dataset", *parts)


# -- provenance -----------------------------------------------------------------------------------

def _params(params: Any) -> str:
    text = json.dumps(params, sort_keys=True, default=repr)
    if len(text) <= 60:
        return element("code", esc(text))
    return element("details", element("summary", esc(f"{len(params or {})} params")), element("code", esc(text)))


def _provenance(data: ReportData) -> str:
    run = data.run
    rows = []
    for cell in data.cells:
        p = cell.provenance
        status = "ok" if cell.ok else element("details", element("summary", "ERR"),
                                              element("code", esc(cell.traceback or cell.error or "")))
        rows.append([
            element("th", esc(cell.detector), scope="row"),
            element("td", esc(condition(cell))),
            element("td", status, class_=None if cell.ok else "err"),
            element("td", esc(f"{p.get('plugin', '?')} ({p.get('distribution', '?')} {p.get('plugin_version', '?')})")),
            element("td", esc(p.get("ganprint_version", "?"))),
            element("td", _params(p.get("params"))),
            element("td", esc(str(p.get("time", "?")).replace("T", " ").replace("+00:00", "")), class_="nowrap"),
            element("td", esc(f"{p.get('seconds', float('nan')):.2f}"), class_="num", data_sort=repr(p.get("seconds", ""))),
            element("td", esc("this run" if cell.run_id == run.run_id else cell.run_id)),
            element("td", element("code", esc(cell.key))),
        ])
    parts = [element("h3", f"Cells ({len(data.cells)})"),
             table(["detector", "test images", "status", "plugin", "ganprint", "params",
                    "started (UTC)", "seconds", "computed by run", "cell key"], rows, sortable=True, class_="provenance")]
    parts.append(element("h3", f"Skipped images ({len(run.skipped)})"))
    if run.skipped:
        items = [element("li", element("code", esc(s["id"])) + esc(f": {s['reason']}"))
                 for s in run.skipped[:SKIPPED_SHOWN]]
        more = len(run.skipped) - SKIPPED_SHOWN
        parts.append(element("ul", *items) + (_note(f"… and {more} more.") if more > 0 else ""))
    else:
        parts.append(_note("None: every image of the dataset was read."))
    parts.append(element("h3", f"Plugin load failures ({len(run.load_failures)})"))
    if run.load_failures:
        parts.append(table(["plugin", "distribution", "stage", "error"],
                           [[element("td", esc(f[k])) for k in ("plugin", "distribution", "stage", "error")]
                            for f in run.load_failures]))
    else:
        parts.append(_note("None: every installed plugin loaded."))
    return _section("provenance", "Provenance", *parts)

