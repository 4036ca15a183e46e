"""ONNX export is an extra: without onnx/onnxruntime, `bench export` is exit 2 with the install line,
before any dataset is opened or any model fitted."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_bench


@pytest.mark.parametrize("absent", [("onnx", "onnxruntime"), ("onnxruntime",)])
def test_export_without_the_onnx_extra_is_exit_2_with_the_install_line(tmp_path: Path, absent: tuple) -> None:
    shadow = tmp_path / "shadow"   # modules that fail to import, ahead of site-packages, as a plain install
    shadow.mkdir()
    for name in absent:
        (shadow / f"{name}.py").write_text(f"raise ImportError('{name} is not installed')\n")
    # a dataset that cannot be opened: the message must be the missing extra's, so nothing was read or fitted
    result = run_bench("export", "cnn", "--dataset", f"folder:{tmp_path / 'nowhere'}",
                       "--onnx", str(tmp_path / "cnn.onnx"), pythonpath=shadow)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"bench: error: ONNX export needs {' and '.join(absent)}, not installed: "
                                     'pip install "ganprint[onnx]"')
    assert not (tmp_path / "cnn.onnx").exists()
