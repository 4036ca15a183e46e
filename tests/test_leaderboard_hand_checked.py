"""Leaderboards on hand-made cells whose best value, ERR cells and text are known before rendering.

Every cell here is written by hand: the expected tables follow from the numbers in the cells and
the rules in :mod:`ganprint.benchmark.leaderboard` (higher is better in every column; the highest
stored value of a column is marked, ties all marked, nothing marked in a one-row table; a failed
cell is ``ERR`` in each of its columns; a metric a cell lacks is ``—``, empty in csv).
"""
from __future__ import annotations

import pytest

from ganprint.benchmark.leaderboard import (
    PROTOCOLS,
    group_name,
    present_protocols,
    protocol_table,
    protocol_values,
    render,
)
from ganprint.benchmark.store import CellResult
from ganprint.dataset import SkippedImage
from ganprint.registry import LoadFailure


def cell(detector: str, attack: str = "none", metrics: dict | None = None, *, immunized: bool = False,
         error: str | None = None, provenance: dict | None = None) -> CellResult:
    return CellResult(f"{detector}|{attack}|{immunized}", "run1", detector, attack, immunized, "hand",
                      "ok" if error is None else "error", metrics or {}, error, None, provenance or {}, 0.0)


def detection(auc: float, ap: float, acc: float, tpr: float) -> dict:
    return {"detection": {"auc": auc, "ap": ap, "acc": acc, "tpr@1%fpr": tpr, "threshold": 0.5}}


# alpha vs beta, by hand: AUC 0.90 < 0.95 (beta best), AP 0.80 = 0.80 (both best, a tie),
# Acc 0.70 > 0.60 (alpha best), TPR@1%FPR 0.10 < 0.20 (beta best).
ALPHA = cell("alpha", metrics=detection(0.90, 0.80, 0.70, 0.10))
BETA = cell("beta", metrics=detection(0.95, 0.80, 0.60, 0.20))
GAMMA = cell("gamma", error="RuntimeError: boom")


def test_two_detectors_best_of_each_column_is_the_one_counted_by_hand() -> None:
    table = protocol_values([ALPHA, BETA], "detection")
    assert [c.label for c in table.columns] == ["AUC", "AP", "Acc", "TPR@1%FPR"]
    assert [c.metric for c in table.columns] == ["auc", "ap", "acc", "tpr@1%fpr"]
    assert table.detectors == ["alpha", "beta"]
    assert table.best(0) == 0.95 and table.best(1) == 0.80 and table.best(2) == 0.70 and table.best(3) == 0.20
    marked = {(d, j) for d in table.detectors for j in range(4) if table.is_best(d, j)}
    assert marked == {("beta", 0), ("alpha", 1), ("beta", 1), ("alpha", 2), ("beta", 3)}


def test_github_rows_mark_the_best_and_show_err_in_every_column_of_a_failed_cell() -> None:
    header, rows = protocol_table([ALPHA, BETA, GAMMA], "detection", "github")
    assert header == ["detector", "AUC", "AP", "Acc", "TPR@1%FPR"]
    assert rows == [
        ["alpha", "0.900", "**0.800**", "**0.700**", "0.100"],
        ["beta", "**0.950**", "**0.800**", "0.600", "**0.200**"],
        ["gamma", "ERR", "ERR", "ERR", "ERR"],
    ]


@pytest.mark.parametrize("fmt, best", [("github", "**0.950**"), ("latex", "\\textbf{0.950}"),
                                       ("plain", "0.950*"), ("csv", "0.950")])
def test_each_format_marks_the_best_its_own_way(fmt: str, best: str) -> None:
    _, rows = protocol_table([ALPHA, BETA], "detection", fmt)
    assert rows[1][1] == best
    assert rows[0][1] == "0.900"


def test_one_row_marks_nothing_and_a_column_of_err_has_no_best() -> None:
    _, rows = protocol_table([BETA], "detection", "github")
    assert rows == [["beta", "0.950", "0.800", "0.600", "0.200"]]
    table = protocol_values([GAMMA, cell("delta", error="ValueError: no")], "detection")
    assert table.detectors == ["gamma", "delta"]
    assert table.best(0) is None and not table.is_best("gamma", 0)
    assert set(table.failed) == {(d, j) for d in ("gamma", "delta") for j in range(4)}


def test_ties_and_the_best_below_zero_point_five() -> None:
    # three rows, AUC 0.30, 0.40, 0.40: both 0.40 rows are best, the 0.30 row is not
    cells = [cell(n, metrics={"closed_world": {"acc": v}}) for n, v in (("a", 0.30), ("b", 0.40), ("c", 0.40))]
    table = protocol_values(cells, "closed_world")
    assert [table.is_best(d, 0) for d in ("a", "b", "c")] == [False, True, True]
    assert table.values == {("a", 0): 0.30, ("b", 0): 0.40, ("c", 0): 0.40}


def test_attack_groups_name_the_columns_and_dfs_marks_an_immunized_cell() -> None:
    # knn under none, jpeg and jpeg immunized: 3 groups x 1 metric (closed-world Acc), group-major
    cells = [cell("knn", "none", {"closed_world": {"acc": 0.9}}),
             cell("knn", "jpeg", {"closed_world": {"acc": 0.5}}),
             cell("knn", "jpeg", {"closed_world": {"acc": 0.7}}, immunized=True),
             cell("svm", "none", {"closed_world": {"acc": 0.6}}),
             cell("svm", "jpeg", {"closed_world": {"acc": 0.55}})]
    assert [group_name(c) for c in cells[:3]] == ["none", "jpeg", "jpeg dfs"]
    header, rows = protocol_table(cells, "closed_world", "plain")
    assert header == ["detector", "Acc none", "Acc jpeg", "Acc jpeg dfs"]
    # none: 0.9 > 0.6; jpeg: 0.55 > 0.5; jpeg dfs: knn alone has a value, and is marked (two rows)
    assert rows == [["knn", "0.900*", "0.500", "0.700*"], ["svm", "0.600", "0.550*", "—"]]
    _, csv_rows = protocol_table(cells, "closed_world", "csv")
    assert csv_rows[1] == ["svm", "0.600", "0.550", ""]


def test_two_metrics_two_groups_are_ordered_attack_then_metric() -> None:
    cells = [cell("knn", "none", {"open_world": {"acc": 0.8, "auroc": 0.9}}),
             cell("knn", "blur", {"open_world": {"acc": 0.6}})]
    header, rows = protocol_table(cells, "open_world", "github")
    assert header == ["detector", "Acc none", "AUROC none", "Acc blur", "AUROC blur"]
    assert rows == [["knn", "0.800", "0.900", "0.600", "—"]]


def test_which_detectors_a_protocol_table_shows() -> None:
    """A detector is shown when one of its cells has the protocol, or when all its cells failed;
    a detector with a failed cell and an ok cell without the protocol is left out."""
    cells = [
        cell("attrib", "none", {"closed_world": {"acc": 0.5}}),
        cell("attrib", "jpeg", error="RuntimeError: jpeg broke it"),
        cell("decoder", "none", {"fingerprint": {"bitwise_acc": 0.99}}),
        cell("decoder", "jpeg", error="RuntimeError: half broken"),
        cell("dead", "none", error="ImportError: gone"),
        cell("dead", "jpeg", error="ImportError: gone"),
    ]
    table = protocol_values(cells, "closed_world")
    assert table.detectors == ["attrib", "dead"]
    assert table.values == {("attrib", 0): 0.5}
    assert set(table.failed) == {("attrib", 1), ("dead", 0), ("dead", 1)}
    assert table.failed[("attrib", 1)].error == "RuntimeError: jpeg broke it"
    fingerprint = protocol_values(cells, "fingerprint")
    assert fingerprint.detectors == ["decoder", "dead"]
    assert fingerprint.values == {("decoder", 0): 0.99}
    assert set(fingerprint.failed) == {("decoder", 1), ("dead", 0), ("dead", 1)}


def test_an_ok_cell_without_the_protocol_is_a_dash_in_a_shown_row() -> None:
    # knn has closed-world results under none; under blur its cell is ok but holds detection only
    cells = [cell("knn", "none", {"closed_world": {"acc": 0.5}}), cell("knn", "blur", detection(0.6, 0.6, 0.6, 0.6))]
    table = protocol_values(cells, "closed_world")
    assert table.protocol == "closed_world" and table.detectors == ["knn"]
    assert table.values == {("knn", 0): 0.5} and table.failed == {}
    assert protocol_table(cells, "closed_world", "github")[1] == [["knn", "0.500", "—"]]


def test_of_two_cells_of_one_detector_and_attack_the_last_counts() -> None:
    """The first knn/none cell has detection results, the last one closed-world results only: the
    detection table then has no row and is left out, the closed-world table follows."""
    cells = [cell("knn", "none", detection(0.9, 0.9, 0.9, 0.9)), cell("knn", "none", {"closed_world": {"acc": 0.5}})]
    assert present_protocols(cells) == ["detection", "closed_world"]
    assert protocol_values(cells, "detection").detectors == []
    assert render(cells, "csv") == "table,detector,Acc\nclosed_world,knn,0.500"


def test_one_row_tables_keep_three_decimals_in_every_format() -> None:
    """tabulate must not read the numbers as numbers (it would print 0.9 for 0.900)."""
    cells = [cell("beta", metrics={"closed_world": {"acc": 0.9}}), cell("beta", "jpeg", {"closed_world": {"acc": 1}})]
    assert render(cells, "plain").splitlines()[2:] == ["detector    Acc none    Acc jpeg",
                                                       "beta        0.900       1.000"]
    github = render(cells, "github")
    assert "| beta       | 0.900      | 1.000      |" in github.splitlines()
    assert " beta       & 0.900      & 1.000      \\\\" in render(cells, "latex").splitlines()


def test_a_metric_stored_as_an_integer_is_shown_as_a_float() -> None:
    cells = [cell("a", metrics={"fingerprint": {"bitwise_acc": 1}}),
             cell("b", metrics={"fingerprint": {"bitwise_acc": 0.5}})]
    table = protocol_values(cells, "fingerprint")
    assert type(table.values[("a", 0)]) is float
    assert protocol_table(cells, "fingerprint", "plain")[1] == [["a", "1.000*"], ["b", "0.500"]]


def test_present_protocols_keep_the_table_order_and_default_to_detection() -> None:
    cells = [cell("d", metrics={"fingerprint": {"bitwise_acc": 0.9}}),
             cell("e", metrics={"open_world": {"acc": 0.1}, "detection": {"auc": 0.5}})]
    assert present_protocols(cells) == ["detection", "open_world", "fingerprint"]
    assert present_protocols([]) == ["detection"]
    assert present_protocols([GAMMA]) == ["detection"]
    assert list(PROTOCOLS) == ["detection", "closed_world", "open_world", "fingerprint"]


def test_render_csv_is_plain_numbers_one_line_per_row_and_notes_as_comments() -> None:
    cells = [ALPHA, BETA, GAMMA, cell("knn", metrics={"closed_world": {"acc": 0.25}})]
    text = render(cells, "csv", [LoadFailure("broken", "broken-dist", "import", "ImportError: x")],
                  [SkippedImage("real/7.png", "truncated")])
    assert text == "\n".join([
        "table,detector,AUC,AP,Acc,TPR@1%FPR",
        "detection,alpha,0.900,0.800,0.700,0.100",
        "detection,beta,0.950,0.800,0.600,0.200",
        "detection,gamma,ERR,ERR,ERR,ERR",
        "",
        "table,detector,Acc",
        "closed_world,gamma,ERR",
        "closed_world,knn,0.250",
        "",
        "# Errors:",
        "#   ERR gamma / none: RuntimeError: boom",
        "# Plugin load failures:",
        "#   broken (broken-dist) at import: ImportError: x",
        "# Skipped images (1):",
        "#   real/7.png: truncated",
    ])


def test_render_github_titles_each_table_and_lists_the_notes_plainly() -> None:
    # two attack groups (none from alpha and beta, jpeg from knn's failed cell): 2 x 4 columns;
    # knn has no cell under none (—) and ERR in each jpeg column
    text = render([ALPHA, BETA, cell("knn", "jpeg", error="OSError: disk")], "github",
                  skipped=[SkippedImage("a", "x"), SkippedImage("b", "y")])
    title, table, notes = text.split("\n\n")
    assert title == "Detection (real vs generated)"
    lines = table.splitlines()
    assert [c.strip() for c in lines[0].strip("|").split("|")] == [
        "detector", "AUC none", "AP none", "Acc none", "TPR@1%FPR none",
        "AUC jpeg", "AP jpeg", "Acc jpeg", "TPR@1%FPR jpeg"]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert cells == [
        ["alpha", "0.900", "**0.800**", "**0.700**", "0.100", "—", "—", "—", "—"],
        ["beta", "**0.950**", "**0.800**", "0.600", "**0.200**", "—", "—", "—", "—"],
        ["knn", "—", "—", "—", "—", "ERR", "ERR", "ERR", "ERR"],
    ]
    assert notes == "Errors:\n  ERR knn / jpeg: OSError: disk\nSkipped images (2):\n  a: x\n  b: y"


def test_render_plain_table_and_immunization_note() -> None:
    cells = [cell("knn", "jpeg", {"closed_world": {"acc": 0.5}}),
             cell("knn", "jpeg", {"closed_world": {"acc": 0.75}}, immunized=True),
             cell("toy", "jpeg", {"closed_world": {"acc": 0.25}}),
             cell("toy", "jpeg", {"closed_world": {"acc": 0.125}}, immunized=True,
                  provenance={"immunization": "fine-tuned"})]
    text = render(cells, "plain")
    title, table, note = text.split("\n\n")
    assert title == "Closed-world attribution"
    assert table.splitlines()[1:] == ["knn         0.500*      0.750*", "toy         0.250       0.125"]
    # knn's immunized cell carries no "immunization" in its provenance: refit is the default
    assert note == "dfs = immunized on training images under the same attack: knn refit, toy fine-tuned"


def test_render_latex_escapes_text_and_keeps_the_marks() -> None:
    """``%`` starts a comment and ``_`` is math-only in LaTeX: headers and detector names are
    escaped, or the TPR@1%FPR header would comment out the end of its row."""
    cells = [cell("tiny_cnn", metrics=detection(0.9, 0.8, 0.7, 0.1)),
             cell("beta", metrics=detection(0.95, 0.8, 0.6, 0.2)),
             cell("gone", error="OSError: 100% broken")]
    text = render(cells, "latex")
    lines = text.splitlines()
    assert lines[0] == "% Detection (real vs generated)"
    assert lines[1] == "\\begin{tabular}{lllll}"
    header = next(line for line in lines if "detector" in line)
    assert "TPR@1\\%FPR" in header and header.rstrip().endswith("\\\\")
    row = next(line for line in lines if "tiny" in line)
    assert "tiny\\_cnn" in row and "\\textbf{0.800}" in row and "\\textbf{0.700}" in row
    assert "% Errors:" in lines and "%   ERR gone / none: OSError: 100% broken" in lines


def test_latex_escapes_each_special_character_and_other_formats_leave_names_as_they_are() -> None:
    name = "a\\b&c%d$e#f_g{h}i~j^k"
    cells = [cell(name, metrics={"closed_world": {"acc": 0.5}})]
    latex = protocol_table(cells, "closed_world", "latex")[1][0][0]
    assert latex == ("a\\textbackslash{}b\\&c\\%d\\$e\\#f\\_g\\{h\\}i"
                     "\\textasciitilde{}j\\textasciicircum{}k")
    for fmt in ("github", "plain", "csv"):
        assert protocol_table(cells, "closed_world", fmt)[1][0][0] == name


def test_render_of_nothing_is_empty_and_an_unknown_format_is_refused() -> None:
    assert render([]) == ""
    # cells without any metric (all ok): the default detection table has no row, only notes remain
    assert render([cell("idle")], "github") == ""
    with pytest.raises(ValueError, match="format must be one of github, latex, csv, plain; got 'html'"):
        render([ALPHA], "html")
