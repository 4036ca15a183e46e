"""Markdown tables for README.md from the JSON files in this folder:

- ``<experiment>-summary.json``: written by ``bench cnn --dataset zoo:default/<experiment>`` (its
  ``summary.json``; Tables 4 and 5 only when the run got that far);
- ``leaderboard-<experiment>.json``: the ``results.json`` of
  ``bench run --plugins cnn,knn,eigenface --dataset zoo:default/<experiment>``.

    python docs/results/cnn/tables.py > /tmp/tables.md
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def leaderboards() -> str:
    rows = []
    for path in sorted(HERE.glob("leaderboard-*.json")):
        experiment = path.stem.removeprefix("leaderboard-")
        for entry in json.loads(path.read_text()):
            if entry["attack"] != "none" or entry["immunized"]:
                continue
            m = entry["metrics"]
            rows.append([experiment, entry["detector"], pct(m.get("closed_world", {}).get("acc")),
                         pct(m.get("open_world", {}).get("acc")), pct(m.get("open_world", {}).get("auroc")),
                         pct(m.get("detection", {}).get("auc")),
                         ", ".join(m.get("open_world", {}).get("held_out", []))])
    return table(["experiment", "detector", "closed-world acc", "open-world acc", "open-world AUROC",
                  "detection AUC", "held out (open world)"], rows)


def summary(path: Path) -> str:
    s = json.loads(path.read_text())
    epochs = {key: f"{fit['epochs']} (best {fit['best_epoch'] + 1})" for key, fit in s["fits"].items()}

    def variant(**params: object) -> str:
        return json.dumps(params, sort_keys=True)

    parts = [f"**{s['dataset']}**: cnn closed-world test accuracy {pct(s['accuracy'])}% ({s['test_images']} test images; "
             f"{s['train_images']} train images, epochs {epochs['{}']})"]
    top = s["table4"][0]["resolution"] if s.get("table4") else None
    t4 = [[r["resolution"], pct(r["low"]),
           epochs["{}" if r["resolution"] == top else variant(band="low", resolution=r["resolution"])],
           pct(r["high"]), epochs.get(variant(band="high", resolution=r["resolution"]), "—")] for r in s.get("table4", [])]
    if t4:
        parts.append("Table 4 analogue (accuracy %, epochs trained (best epoch))\n\n"
                     + table(["resolution", "L-f", "L-f epochs", "H-f", "H-f epochs"], t4))
    t5 = [[r["pooling_starts_at"] or "none (full network)", r["patch_size"] or "32 (whole image)", pct(r["accuracy"]),
           epochs[variant(patch_size=r["patch_size"])] if r["patch_size"] else epochs["{}"]] for r in s.get("table5", [])]
    if t5:
        parts.append("Table 5 analogue\n\n" + table(["pooling starts at", "patch size", "accuracy", "epochs (best)"], t5))
    t6 = [[name, pct(r["all"]), pct(r["subset"])] for name, r in s["table6"].items()]
    parts.append(f"Table 6 analogue ({s['subset_images']} subset images)\n\n"
                 + table(["detector", "all test", "artifact-free subset"], t6))
    fd = [[name, *(f"{r[k]['ratio']:.2f}" if r[k] else "—" for k in ("all", "subset"))] for name, r in s["fd_ratio"].items()]
    parts.append("FD ratio\n\n" + table(["features", "all test", "subset"], fd))
    return "\n\n".join(parts)


if __name__ == "__main__":
    print("\n\n".join(summary(path) for path in sorted(HERE.glob("*-summary.json")))
          + "\n\nLeaderboards\n\n" + leaderboards())
