"""`bench report` and `bench run --report`: one self-contained HTML page, checked in Python and,
when Chromium is installed, rendered by headless Chromium (screenshot, DOM dump, network log)."""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from conftest import install_plugin, run_bench, write_folder
from ganprint.benchmark.leaderboard import PROTOCOLS
from ganprint.benchmark.report import confusion, mistakes, robustness, roc
from ganprint.benchmark.report.gather import resolve_run_id
from ganprint.benchmark.report.html import element, esc
from ganprint.benchmark.store import CellResult, ResultStore, RunRecord, SweepRecord
from ganprint.commands import UsageError

# The error message is hostile on purpose: the page must show it as text, never as an element.
FIT_RAISES = '''
from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.knn import KNNAttributor


class FitRaises(KNNAttributor):
    def fit(self, X, y):
        raise RuntimeError('this detector cannot fit <img src="https://example.invalid/x.png">')


@hookimpl
def ganprint_detectors():
    yield DetectorSpec("fitraises", FitRaises, "raises in fit")
'''
DETECTORS = ["knn", "eigenface", "prnu", "fitraises"]


# -- a real run on zoo:smoke, with an ERR detector, a plugin that fails to load, an attack, a sweep ---

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = install_plugin(tmp_path_factory.mktemp("plugins") / "site", "ganprint_fitraises", FIT_RAISES,
                          "fitraises = ganprint_fitraises")
    (site / "ganprint_noimport.py").write_text("raise ImportError('missing dependency xyz')\n")
    dist_info = next(site.glob("ganprint_fitraises-*.dist-info"))
    with open(dist_info / "entry_points.txt", "a") as f:
        f.write("noimport = ganprint_noimport\n")
    return site


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, site: Path) -> dict[str, Path]:
    """A sweep, then `bench run ... --report`, then `bench report --latest` of the same store."""
    root = tmp_path_factory.mktemp("smoke")
    store = root / "store.db"
    sweep = run_bench("sweep", "--plugins", "knn", "--dataset", "zoo:smoke", "--attack", "jpeg",
                      "--strengths", "90,50,10", "--store", str(store), "--out", str(root / "sweep"))
    assert sweep.returncode == 0, sweep.stderr
    run = run_bench("run", "--dataset", "zoo:smoke", "--plugins", ",".join(DETECTORS), "--attacks", "none,jpeg",
                    "--immunize", "--store", str(store), "--report", str(root / "from-run"), pythonpath=site)
    assert run.returncode == 0, run.stderr
    report = run_bench("report", "--store", str(store), "--latest", "--out", str(root / "report"), pythonpath=site)
    assert report.returncode == 0, report.stderr
    with ResultStore(store) as s:
        (run_id,) = s.run_ids()
    return {"store": store, "page": root / "report" / "index.html", "from_run": root / "from-run" / "index.html",
            "root": root, "run_id": run_id}


class PageParser(HTMLParser):
    """Every element's attributes, the leaderboard tables' rows, and the text of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag == "table" and "leaderboard" in attributes.get("class", ""):
            self._table = attributes["data-protocol"]
            self.tables[self._table] = []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def stored_run(store: Path, run_id: str | None = None) -> tuple[RunRecord, list[CellResult], dict[str, list[dict]]]:
    """The record, cells and predictions of ``run_id`` (the latest run by default)."""
    with ResultStore(store) as s:
        run = s.get_run(run_id or s.run_ids()[-1])
        cells = s.run_cells(run.run_id)
        return run, cells, {c.key: list(s.predictions(c.key)) for c in cells}


def test_run_report_and_bench_report_write_the_same_page(smoke) -> None:
    assert smoke["from_run"].read_bytes() == smoke["page"].read_bytes()


def test_the_store_records_the_run_and_its_cells(smoke) -> None:
    run, cells, _ = stored_run(smoke["store"], smoke["run_id"])
    assert run.command.startswith("bench run --dataset zoo:smoke --plugins knn,eigenface,prnu,fitraises")
    assert run.dataset_spec == "zoo:smoke" and run.seed == 0
    assert [f["plugin"] for f in run.load_failures] == ["noimport"]
    assert run.versions["plugins"]["fitraises"] == "ganprint-fitraises 0.1.0"
    # 4 detectors x (none, jpeg, jpeg immunized), in the leaderboard's order
    assert [(c.detector, c.attack, c.immunized) for c in cells] == [
        (d, a, i) for d in DETECTORS for a, i in (("none", False), ("jpeg", False), ("jpeg", True))]
    assert all(c.ok == (c.detector != "fitraises") for c in cells)


def test_page_holds_one_leaderboard_per_protocol_with_a_row_per_detector(smoke) -> None:
    _, cells, _ = stored_run(smoke["store"], smoke["run_id"])
    page = parse(smoke["page"])
    expected = [p for p in PROTOCOLS if any(p in c.metrics for c in cells)]
    assert list(page.tables) == expected == ["detection", "closed_world", "open_world"]
    for protocol, rows in page.tables.items():
        assert [r[0] for r in rows] == DETECTORS
        by_detector = {r[0]: r[1:] for r in rows}
        assert all(v.startswith("ERR [") for v in by_detector["fitraises"])
        # every number is the store's metric; the values of the first column are the clean ones
        first_metric = PROTOCOLS[protocol][1][0][0]
        clean = {c.detector: c.metrics[protocol][first_metric] for c in cells
                 if c.ok and c.attack == "none" and not c.immunized}
        assert {d: float(by_detector[d][0]) for d in clean} == {d: round(v, 3) for d, v in clean.items()}


def test_best_value_of_each_column_is_marked(smoke) -> None:
    html = smoke["page"].read_text()
    _, cells, _ = stored_run(smoke["store"], smoke["run_id"])
    clean = [c for c in cells if c.ok and c.attack == "none" and not c.immunized]
    best_auc = max(c.metrics["detection"]["auc"] for c in clean)
    marked = [c.detector for c in clean if c.metrics["detection"]["auc"] == best_auc]
    assert f'data-sort="{best_auc!r}"><strong>{best_auc:.3f}</strong></td>' in html
    assert len(marked) >= 1


def test_err_cells_show_their_error_as_text(smoke) -> None:
    page = parse(smoke["page"])
    text = "".join(page.text)
    assert 'fitraises / clean: fit failed: RuntimeError: this detector cannot fit <img src="https://example' in text
    # the hostile message never became an element
    assert not any(tag == "img" and "example.invalid" in a.get("src", "") for tag, a in page.elements)


def test_page_references_nothing_outside_itself(smoke) -> None:
    html = smoke["page"].read_text()
    page = parse(smoke["page"])
    for tag, attributes in page.elements:
        assert tag not in ("link", "iframe", "object", "embed", "base")
        for name in ("src", "href", "srcset", "action", "data", "poster"):
            value = attributes.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, name, value[:80])
        assert "url(" not in attributes.get("style", "")
    style = html[html.index("<style>"):html.index("</style>")]
    assert "url(" not in style and "@import" not in style
    policy = next(a["content"] for t, a in page.elements if a.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none'")


def embedded_pngs(path: Path) -> list[Image.Image]:
    images = []
    for tag, attributes in parse(path).elements:
        if tag == "img":
            prefix, data = attributes["src"].split(",", 1)
            assert prefix == "data:image/png;base64"
            image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
            image.load()
            images.append(image)
    return images


def test_every_embedded_image_decodes(smoke) -> None:
    images = embedded_pngs(smoke["page"])
    _, cells, _ = stored_run(smoke["store"], smoke["run_id"])
    clean_ok = [c for c in cells if c.ok and c.attack == "none" and not c.immunized]
    # detection ROC + open-world ROC + a confusion matrix per attributor + jpeg bars + the sweep
    figures = 2 + len(clean_ok) + 1 + 1
    thumbnails = 6 * 8  # zoo:smoke: 6 sources, 8 thumbnails each
    assert len(images) >= figures + thumbnails
    assert all(min(image.size) > 0 for image in images)


def test_figures_are_drawn_from_the_stored_predictions(smoke) -> None:
    """The legend's AUC is the stored metric; it is also what the stored per-image scores give."""
    _, cells, predictions = stored_run(smoke["store"], smoke["run_id"])
    for cell in cells:
        if cell.ok and "detection" in cell.metrics:
            rows = predictions[cell.key]
            auc = roc_auc_score([r["labels"] != "real" for r in rows], [r["scores"] for r in rows])
            assert auc == pytest.approx(cell.metrics["detection"]["auc"], abs=1e-12)
    html = smoke["page"].read_text()
    assert "No thumbnails" not in html and "sweep curves" in html


def test_page_lists_load_failures_and_reused_cells(smoke, site: Path) -> None:
    text = "".join(parse(smoke["page"]).text)
    assert "noimport" in text and "missing dependency xyz" in text
    resumed = run_bench("run", "--dataset", "zoo:smoke", "--plugins", "knn,eigenface", "--store", str(smoke["store"]),
                        "--resume", "--report", str(smoke["root"] / "resumed"), pythonpath=site)
    assert resumed.returncode == 0, resumed.stderr
    with ResultStore(smoke["store"]) as store:
        cells = store.run_cells(store.run_ids()[-1])
    assert [c.detector for c in cells] == ["knn", "eigenface"]
    assert {c.run_id for c in cells} == {smoke["run_id"]}  # both reused from the earlier run
    page = parse(smoke["root"] / "resumed" / "index.html")
    assert [r[0] for r in page.tables["detection"]] == ["knn", "eigenface"]
    assert "2 reused from earlier runs" in "".join(page.text)


# -- usage errors -------------------------------------------------------------------------------------

def test_empty_store_missing_store_and_unknown_run_are_exit_2_with_one_line(tmp_path: Path, smoke) -> None:
    ResultStore(tmp_path / "empty.db").close()
    (tmp_path / "garbage.db").write_text("not a database")
    cases = {
        ("--store", str(tmp_path / "empty.db")): "holds no runs",
        ("--store", str(tmp_path / "absent.db")): "no results store at",
        ("--store", str(tmp_path / "garbage.db")): "is not a results store",
        ("--store", str(smoke["store"]), "--run", "nosuchrun"): "no run 'nosuchrun'",
    }
    for argv, message in cases.items():
        result = run_bench("report", *argv, "--out", str(tmp_path / "out"))
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert not (tmp_path / "out").exists()


def test_resolve_run_id_takes_a_unique_prefix(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.db") as store:
        for i, run_id in enumerate(["abc123", "abd456", "xyz789"]):
            store.put_run(RunRecord(run_id, "", 0.0, float(i), "d", "d", "h", 0), [])
        assert resolve_run_id(store, None) == "xyz789"
        assert resolve_run_id(store, "abc") == "abc123"
        with pytest.raises(UsageError, match="ambiguous"):
            resolve_run_id(store, "ab")
        with pytest.raises(UsageError, match="no run 'q'"):
            resolve_run_id(store, "q")


# -- the dataset behind the thumbnails -----------------------------------------------------------------

def test_thumbnails_refused_when_the_dataset_changed_or_is_gone(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=10)
    store = tmp_path / "store.db"
    run = run_bench("run", "--dataset", f"folder:{folder}", "--plugins", "knn", "--store", str(store),
                    "--report", str(tmp_path / "before"))
    assert run.returncode == 0, run.stderr
    assert "No thumbnails" not in (tmp_path / "before" / "index.html").read_text()
    run_record, _, _ = stored_run(store)
    assert run_record.dataset_spec == f"folder:{folder}"
    image = next((folder / "real").glob("*.png"))
    Image.fromarray(255 - np.asarray(Image.open(image))).save(image)
    assert run_bench("report", "--store", str(store), "--out", str(tmp_path / "changed")).returncode == 0
    changed = (tmp_path / "changed" / "index.html").read_text()
    assert f"not the run&#x27;s {run_record.dataset_hash}: its images changed since the run" in changed
    shutil.rmtree(folder)
    assert run_bench("report", "--store", str(store), "--out", str(tmp_path / "gone")).returncode == 0
    gone = (tmp_path / "gone" / "index.html").read_text()
    assert "could not be reopened" in gone
    # the leaderboards still render from the store alone
    assert parse(tmp_path / "gone" / "index.html").tables["detection"][0][0] == "knn"


# -- figures and selections on cases small enough to count by hand --------------------------------------

def test_confusion_rows_are_normalised_and_untested_classes_dropped() -> None:
    # rows: true real (4 images: 3 right, 1 called a), true a (2: both called b), true b (none)
    true, predicted, fractions = confusion.row_normalised(["real", "a", "b"], [[3, 1, 0], [0, 0, 2], [0, 0, 0]])
    assert true == ["real", "a"] and predicted == ["real", "a", "b"]
    np.testing.assert_allclose(fractions, [[0.75, 0.25, 0.0], [0.0, 0.0, 1.0]])
    figure = confusion.confusion_figure(true, predicted, fractions, "t")
    assert [t.get_text() for t in figure.axes[0].texts] == ["0.75", "0.25", "0.00", "0.00", "0.00", "1.00"]


def test_confusion_puts_real_first() -> None:
    # stored order a, real: 2 a images (1 called real), 1 real image called real
    true, predicted, fractions = confusion.row_normalised(["a", "real"], [[1, 1], [0, 1]])
    assert true == predicted == ["real", "a"]
    np.testing.assert_allclose(fractions, [[1.0, 0.0], [0.5, 0.5]])


def test_roc_points_and_operating_point_by_hand() -> None:
    # scores of 2 negatives (0.1, 0.6) and 2 positives (0.4, 0.9)
    positive, scores = [False, False, True, True], [0.1, 0.6, 0.4, 0.9]
    fpr, tpr = roc.roc_points(positive, scores)
    assert list(zip(fpr, tpr)) == [(0, 0), (0, 0.5), (0.5, 0.5), (0.5, 1), (1, 1)]
    assert roc.operating_point(positive, scores, 0.5) == (0.5, 0.5)  # accepts 0.6 and 0.9
    assert roc.log_floor(20) == 0.005 and roc.log_floor(400) == 0.00125


def test_panels_keep_plugins_together_and_split_large_ones() -> None:
    def curves(group: str, n: int) -> list[roc.Curve]:
        return [roc.Curve(f"{group}{i}", group, np.zeros(1), np.zeros(1), 0.5) for i in range(n)]

    every = curves("bfrvae", 1) + curves("cnn", 7) + curves("knn", 1) + curves("prnu", 4) + curves("stega", 1)
    assert [[c.label for c in p] for p in roc.panels(every, limit=8)] == [
        ["bfrvae0"] + [f"cnn{i}" for i in range(7)], ["knn0", "prnu0", "prnu1", "prnu2", "prnu3", "stega0"]]
    assert [len(p) for p in roc.panels(curves("cnn", 10), limit=4)] == [4, 4, 2]
    assert [len(p) for p in roc.panels(curves("cnn", 9), limit=8)] == [5, 4]


def test_a_detector_keeps_its_colour_in_every_figure() -> None:
    run = [("knn", "knn"), ("eigenface", "eigenface")] + [(f"cnn{i}", "cnn") for i in range(9)]
    colour_of = roc.colours(run)
    # panels: knn + eigenface (2), then cnn split 5 + 4; colours restart in each panel
    assert colour_of["knn"] == "C0" and colour_of["eigenface"] == "C1"
    assert [colour_of[f"cnn{i}"] for i in range(9)] == ["C0", "C1", "C2", "C3", "C4", "C0", "C1", "C2", "C3"]
    # a figure of only some detectors still draws each in its colour, whatever the legend order
    curves = [roc.Curve("eigenface", "eigenface", np.array([0.0, 1.0]), np.array([0.0, 1.0]), 0.9),
              roc.Curve("knn", "knn", np.array([0.0, 1.0]), np.array([0.0, 1.0]), 0.5)]
    axes = roc.roc_figure(curves, title="t", xlabel="x", ylabel="y", legend="{label}", colour_of=colour_of).axes[0]
    assert {t.get_text(): h.get_color() for t, h in zip(axes.get_legend().get_texts(), axes.get_legend().legend_handles)} \
        == {"eigenface": "C1", "knn": "C0"}


def test_detection_roc_figure_has_a_log_fpr_axis_and_auc_legend() -> None:
    curves = [roc.Curve("a", "g", np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.8, 1.0]), 0.9),
              roc.Curve("b", "g", np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.5, 1.0]), 0.5)]
    figure = roc.roc_figure(curves, title="t", xlabel="x", ylabel="y", legend="{label} (AUC {area:.3f})",
                            log_floor=0.005)
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.get_xlim() == pytest.approx((0.005, 1.0))
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["a (AUC 0.900)", "b (AUC 0.500)"]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["1%", "10%", "100%"]
    # FPR 0 sits at the left edge of the log axis
    assert axes.get_lines()[0].get_xdata()[0] == 0.005


def test_most_confident_mistakes_by_hand() -> None:
    rows = [{"ids": "i1", "labels": "a", "predicted": "a", "confidence": 0.99},
            {"ids": "i2", "labels": "a", "predicted": "b", "confidence": 0.6},
            {"ids": "i3", "labels": "b", "predicted": "a", "confidence": 0.9},
            {"ids": "i4", "labels": "real", "predicted": "b", "confidence": 0.6}]
    found = mistakes.confident_mistakes(rows, 2)
    assert [(m.image_id, m.true, m.predicted) for m in found] == [("i3", "b", "a"), ("i2", "a", "b")]
    # a detector that only scores: wrong side of the threshold 0.5, farthest first
    scored = [{"ids": "r1", "labels": "real", "scores": 0.7}, {"ids": "r2", "labels": "real", "scores": 0.2},
              {"ids": "g1", "labels": "gan", "scores": 0.1}, {"ids": "g2", "labels": "gan", "scores": 0.9}]
    found = mistakes.confident_mistakes(scored, 5, detection_threshold=0.5)
    assert [(m.image_id, m.predicted) for m in found] == [("g1", "real"), ("r1", "generated")]


def cell(detector: str, attack: str, immunized: bool, auc: float | None) -> CellResult:
    metrics = {} if auc is None else {"detection": {"auc": auc}}
    return CellResult(f"{detector}{attack}{immunized}", "r", detector, attack, immunized, "d",
                      "ok" if auc is not None else "error", metrics, None if auc is not None else "boom")


def test_robustness_bars_by_hand() -> None:
    cells = [cell("a", "none", False, 0.9), cell("a", "jpeg", False, 0.6), cell("a", "jpeg", True, 0.8),
             cell("b", "none", False, None), cell("b", "jpeg", False, None), cell("a", "blur", False, 0.7)]
    (bars,) = robustness.robustness_bars(cells, "jpeg")
    assert bars.protocol == "detection" and bars.detectors == ["a", "b"]
    assert bars.values == {("a", "clean"): 0.9, ("a", "attacked"): 0.6, ("a", "immunized"): 0.8}
    assert bars.failed == {("b", "clean"), ("b", "attacked")}
    assert bars.conditions == ["clean", "attacked", "immunized"]
    assert robustness.attacks_of(cells) == ["jpeg", "blur"]


def test_latest_sweep_of_each_curve_is_drawn() -> None:
    def record(label: str, values: list[float], finished: float) -> SweepRecord:
        curve = {"label": label, "perturbation": "jpeg", "param": "quality", "metric": "detection.acc",
                 "strengths": [90, 10], "values": values}
        return SweepRecord("d", "h", 0, "bench sweep", 0.75, curve, finished)

    grouped = robustness.latest_sweeps([record("knn", [0.9, 0.5], 1.0), record("prnu", [0.8, 0.4], 2.0),
                                        record("knn", [0.95, 0.6], 3.0)])
    ((key, items),) = grouped.items()
    assert key == ("jpeg", "quality", "detection.acc")
    assert {c.label: c.values for c, _ in items} == {"knn": [0.95, 0.6], "prnu": [0.8, 0.4]}


def test_html_escapes_text_and_attributes() -> None:
    assert esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert element("td", esc("<b>"), title='"><script>', data_sort="", class_="err") == \
        '<td title="&quot;&gt;&lt;script&gt;" data-sort="" class="err">&lt;b&gt;</td>'


def test_store_keeps_older_stores_readable(tmp_path: Path) -> None:
    """A store written before runs were recorded: a clear usage error, not a crash."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE cells (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, detector TEXT NOT NULL, "
                           "attack TEXT NOT NULL, immunized INTEGER NOT NULL, dataset TEXT NOT NULL, status TEXT "
                           "NOT NULL, metrics TEXT NOT NULL, error TEXT, traceback TEXT, provenance TEXT NOT NULL, "
                           "finished REAL NOT NULL);"
                           "INSERT INTO cells VALUES ('k','r','knn','none',0,'d','ok','{}',NULL,NULL,'{}',0);")
    result = run_bench("report", "--store", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "no run record" in result.stderr and "--resume" in result.stderr


# -- in a real browser ------------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]

# Appended to a copy of the page: after load, record how many images decoded, then sort the
# detection table by its first metric with a click, and write both into the DOM for --dump-dom.
PROBE = """<script>
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var table = document.querySelector('table[data-protocol="detection"]');
  var header = table.tHead.rows[table.tHead.rows.length - 1];
  header.cells[1].click();
  var order = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[0].textContent; });
  var out = document.createElement('div');
  out.id = 'probe';
  out.setAttribute('data-images', images.length);
  out.setAttribute('data-broken', broken.length);
  out.setAttribute('data-sorted', order.join(','));
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "Chromium is not installed (`apt-get install chromium`): the report is not tested in a browser"
        if os.environ.get("GANPRINT_REQUIRE_BROWSER"):
            pytest.fail(reason + ", and GANPRINT_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    return found


def browse(chromium: str, page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                              capture_output=True, text=True, timeout=120)


def page_requests(net_log: Path) -> list[str]:
    """URLs the page asked for (the browser's own update and account checks carry no origin)."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]


def test_browser_screenshot_is_not_blank_and_the_page_requests_nothing(chromium: str, smoke, tmp_path: Path) -> None:
    shot, net_log = tmp_path / "top.png", tmp_path / "net.json"
    result = browse(chromium, smoke["page"], "--window-size=1280,1800", f"--screenshot={shot}",
                    f"--log-net-log={net_log}")
    assert shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (1800, 1280, 3)
    grey = pixels.mean(axis=2)
    assert (grey < 200).mean() > 0.03  # text, tables and a figure, not a white page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100
    assert page_requests(net_log) == []


def test_network_check_sees_a_page_that_fetches(chromium: str, tmp_path: Path) -> None:
    """The check above can fail: a page loading an image from the network is caught."""
    page, net_log = tmp_path / "fetches.html", tmp_path / "net.json"
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png">')
    browse(chromium, page, "--dump-dom", f"--log-net-log={net_log}")
    assert page_requests(net_log) == ["http://127.0.0.1:9/x.png"]


def test_browser_dom_has_the_tables_every_image_decoded_and_headers_sort(chromium: str, smoke, tmp_path: Path) -> None:
    probed = tmp_path / "probed.html"
    html = smoke["page"].read_text()
    probed.write_text(html.replace("</body>", PROBE + "</body>"))
    result = browse(chromium, probed, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = tmp_path / "dom.html"
    dom.write_text(result.stdout)
    parsed = parse(dom)
    assert list(parsed.tables) == ["detection", "closed_world", "open_world"]
    assert all(sorted(r[0] for r in rows) == sorted(DETECTORS) for rows in parsed.tables.values())
    probe = next(a for t, a in parsed.elements if a.get("id") == "probe")
    assert int(probe["data-images"]) == len(embedded_pngs(smoke["page"])) > 0
    assert probe["data-broken"] == "0"
    # one click sorts by clean AUC, highest first; the ERR row goes last
    _, cells, _ = stored_run(smoke["store"], smoke["run_id"])
    auc = {c.detector: c.metrics["detection"]["auc"] for c in cells if c.ok and c.attack == "none" and not c.immunized}
    assert probe["data-sorted"].split(",") == sorted(auc, key=lambda d: -auc[d]) + ["fitraises"]


def test_a_broken_image_is_caught_by_the_probe(chromium: str, smoke, tmp_path: Path) -> None:
    """The decode check can fail: a page with one corrupt data URI reports one broken image."""
    html = smoke["page"].read_text()
    start = html.index('src="data:image/png;base64,') + len('src="data:image/png;base64,')
    probed = tmp_path / "broken.html"
    probed.write_text((html[:start] + "AAAA" + html[start + 4:]).replace("</body>", PROBE + "</body>"))
    dom = browse(chromium, probed, "--dump-dom").stdout
    assert 'data-broken="1"' in dom
