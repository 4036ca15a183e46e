"""``bench fit`` then ``bench predict`` on files and folders: the verdicts are the saved detector's,
odd files are skipped with their reason, exit statuses follow the rest of ``bench``, and a
generator left out of fitting is called ``unknown``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_folder
from ganprint import load
from ganprint.benchmark.cli import main
from ganprint.registry import load_registry
from ganprint.saving import ARRAYS, load_saved


@pytest.fixture(scope="module")
def smoke_test_split():
    return load_registry().open_dataset("zoo:smoke").load("test")


@pytest.fixture(scope="module")
def fitted_knn(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fit") / "knn"
    assert main(["-q", "fit", "knn", "--dataset", "zoo:smoke", "--out", str(out)]) == 0
    return out


@pytest.fixture
def images(tmp_path: Path, smoke_test_split) -> Path:
    """Smoke test images as PNGs (one per source, one in a sub-folder), a 40x24 one, a grayscale
    one, a truncated one and a text file."""
    root = tmp_path / "images"
    (root / "nested").mkdir(parents=True)
    batch = smoke_test_split
    for i in range(0, len(batch), 20):
        Image.fromarray(batch.images[i]).save(root / f"{batch.labels[i]}-{i}.png")
    Image.fromarray(batch.images[1]).save(root / "nested" / "deep.png")
    Image.fromarray(batch.images[2]).resize((40, 24)).save(root / "wide.png")
    Image.fromarray(batch.images[3]).convert("L").save(root / "gray.png")
    whole = (root / "nested" / "deep.png").read_bytes()
    (root / "truncated.png").write_bytes(whole[: len(whole) // 3])
    (root / "notes.txt").write_text("not an image")
    return root


def predict_json(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    status = main(["-q", "predict", *args, "--format", "json"])
    out = capsys.readouterr().out
    return status, json.loads(out) if out.strip() else {}


def test_predict_on_a_folder(fitted_knn: Path, images: Path, capsys) -> None:
    status, result = predict_json(capsys, str(fitted_knn), str(images))
    assert status == 0
    rows = {Path(r["image"]).name: r for r in result["predictions"]}
    pngs = sorted(p.name for p in images.rglob("*.png") if p.name != "truncated.png")
    assert sorted(rows) == pngs
    skipped = {Path(s["image"]).name: s["reason"] for s in result["skipped"]}
    assert set(skipped) == {"truncated.png", "notes.txt"}
    assert "truncated" in skipped["truncated.png"] and "not an image file" in skipped["notes.txt"]
    assert rows["wide.png"]["note"] == "resized from 40x24, its centred 24px square"
    assert all(r["note"] == "" for name, r in rows.items() if name != "wide.png")

    saved = load_saved(fitted_knn)
    detector, calibration = saved.detector, saved.calibration
    names = [n for n in pngs if n not in ("wide.png", "gray.png")]
    X = np.stack([np.asarray(Image.open(next(images.rglob(n))).convert("RGB")) for n in names])
    proba, scores, confidence = detector.predict_proba(X), detector.score(X), detector.confidence(X)
    for i, name in enumerate(names):
        row = rows[name]
        assert row["score"] == scores[i] and row["confidence"] == confidence[i]
        assert row["attributed"] == detector.classes_[proba[i].argmax()] and row["probability"] == proba[i].max()
        assert row["verdict"] == ("generated" if scores[i] >= calibration.detection_threshold else "real")
        accepted = confidence[i] >= calibration.rejection_threshold
        assert row["source"] == (row["attributed"] if accepted else "unknown")


def test_table_and_csv_formats(fitted_knn: Path, images: Path, capsys) -> None:
    assert main(["-q", "predict", str(fitted_knn), str(images)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("knn (ganprint ") and "rejection threshold" in table.splitlines()[0]
    readable = len(list(images.rglob("*.png"))) - 1
    assert f"{readable} image(s) predicted, 2 skipped" in table and f"skipped {images / 'truncated.png'}:" in table
    assert main(["-q", "predict", str(fitted_knn), str(images / "wide.png"), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "image,score,verdict,attributed,probability,confidence,source,bits,note,skipped"
    assert len(lines) == 2 and lines[1].startswith(str(images / "wide.png"))


def test_exit_statuses(fitted_knn: Path, images: Path, tmp_path: Path, capsys) -> None:
    assert predict_json(capsys, str(fitted_knn), str(images / "truncated.png"))[0] == 1
    assert main(["-q", "predict", str(fitted_knn), str(images / "absent.png")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["-q", "predict", str(images), str(images)]) == 2
    assert "has no manifest.json" in capsys.readouterr().err
    changed = tmp_path / "changed"
    shutil.copytree(fitted_knn, changed)
    data = bytearray((changed / ARRAYS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (changed / ARRAYS).chmod(0o644)
    (changed / ARRAYS).write_bytes(bytes(data))
    assert main(["-q", "predict", str(changed), str(images)]) == 2
    assert f"{ARRAYS} does not match the sha256" in capsys.readouterr().err


def test_fit_refuses_bad_options_before_fitting(tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "out")
    assert main(["-q", "fit", "knn", "--dataset", "zoo:smoke", "--out", out, "--param", "k=3"]) == 2
    assert "invalid parameter 'k'" in capsys.readouterr().err
    assert main(["-q", "fit", "knn", "--dataset", "zoo:smoke", "--out", out, "--exclude-sources", "biggan"]) == 2
    assert "biggan not among the sources" in capsys.readouterr().err
    assert not Path(out).exists()


def test_a_held_out_generator_is_called_unknown(tmp_path: Path, capsys) -> None:
    root = write_folder(tmp_path / "images", n_per_source=20, size=32, n_generated=3)
    out = tmp_path / "prnu"
    assert main(["-q", "fit", "prnu", "--dataset", f"folder:{root}", "--exclude-sources", "gen2",
                 "--out", str(out)]) == 0
    assert list(load(out).classes_) == ["gen0", "gen1", "real"]
    unknown = {}
    for source in ("gen0", "gen1", "gen2"):
        status, result = predict_json(capsys, str(out), str(root / source))
        assert status == 0 and len(result["predictions"]) == 20
        assert {r["attributed"] for r in result["predictions"]} <= {"gen0", "gen1", "real"}
        unknown[source] = np.mean([r["source"] == "unknown" for r in result["predictions"]])
    assert unknown["gen2"] > max(unknown["gen0"], unknown["gen1"])


def test_run_saves_every_fit(tmp_path: Path, capsys) -> None:
    saved = tmp_path / "fits"
    args = ["-q", "run", "--plugins", "knn", "--dataset", "zoo:smoke", "--jobs", "1", "--store", str(tmp_path / "r.db"),
            "--out", str(tmp_path / "out"), "--save-fitted", str(saved)]
    assert main(args) == 0
    results = {c["detector"]: c for c in json.loads((tmp_path / "out" / "results.json").read_text())}
    calibration = load_saved(saved / "knn").calibration
    assert calibration.detection_threshold == results["knn"]["metrics"]["detection"]["threshold"]
    assert (calibration.image_size, calibration.dataset, calibration.seed) == (16, "zoo:smoke", 0)
    assert sorted(p.name for p in saved.iterdir()) == ["knn"]
