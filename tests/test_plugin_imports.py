"""DESIGN.md, layout: a plugin imports no other plugin's internals and no dataset internals: what
plugins share lives in core/ or in ``ganprint.datasets``' public API (the names of its
``__init__``). These tests read the import statements of every file of the built-in plugins (at
any depth, inside functions too, relative imports resolved, ``importlib.import_module`` calls with
a literal name included)."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS, DATASETS = ROOT / "plugins", ROOT / "datasets"

# imports waiting for a change another branch makes (file relative to plugins/, imported module)
def builtin_plugins() -> dict[str, str]:
    """{entry-point name: module} of setup.py's built-in plugins under ganprint.plugins."""
    text = (ROOT / "setup.py").read_text()
    found = dict(re.findall(r'"(\w+) = (ganprint\.plugins\.\w+)"', text))
    assert found, "no built-in plugins found in setup.py"
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(PLUGINS).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("ganprint", "plugins", *parts))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file; ``from M import n`` gives both
    ``M`` and ``M.n`` (``n`` may be a submodule)."""
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            out += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return out


def dataset_internals() -> set[str]:
    """``ganprint.datasets.<module>`` for every module and sub-package of datasets/."""
    names = {p.stem for p in DATASETS.glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in DATASETS.glob("*/__init__.py")}
    return {f"ganprint.datasets.{name}" for name in names}


def violations(plugin_dir: Path, own: str, plugins: dict[str, str]) -> list[str]:
    """Imports in the files of one plugin (``own``, its module) of another plugin, of a dataset
    internal, or of ganprint.benchmark."""
    others = {module for module in plugins.values() if module != own}
    internals = dataset_internals()
    files = [plugin_dir] if plugin_dir.is_file() else sorted(plugin_dir.rglob("*.py"))
    found = []
    for path in files:
        rel = path.relative_to(PLUGINS).as_posix()
        for line, module in imported_modules(path):
            bad = (any(module == o or module.startswith(o + ".") for o in others)
                   or any(module == i or module.startswith(i + ".") for i in internals)
                   or module == "ganprint.benchmark" or module.startswith("ganprint.benchmark."))
            if bad:
                found.append(f"{rel}:{line}: {module}")
    return sorted(set(found))


def _plugin_path(module: str) -> Path:
    name = module.rsplit(".", 1)[1]
    return PLUGINS / name if (PLUGINS / name).is_dir() else PLUGINS / f"{name}.py"


@pytest.mark.parametrize("name", sorted(builtin_plugins()))
def test_plugin_imports_no_other_plugin_nor_dataset_internals(name):
    plugins = builtin_plugins()
    assert violations(_plugin_path(plugins[name]), plugins[name], plugins) == []


def test_the_scan_finds_what_it_forbids(tmp_path, monkeypatch):
    """The scanner itself: each kind of forbidden import, in a function, relative or by
    importlib, is reported; the public API and the plugin's own modules are not."""
    fake = tmp_path / "plugins" / "stega"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "bad.py").write_text(
        "import importlib\n"
        "from ganprint.datasets import sample_crops, GeneratorConfig\n"   # public: fine
        "from ganprint.plugins.stega.train import embed\n"               # own: fine
        "from ganprint.plugins.pixel_attributor import flatten_pixels\n"  # not a plugin: fine
        "def f():\n"
        "    from ganprint.datasets.gan_training import sample\n"        # 6
        "    from ganprint.datasets import realset\n"                    # 7 (a submodule)
        "    from ..prnu import residual\n"                              # 8
        "    import ganprint.plugins.cnn.model\n"                         # 9
        "    importlib.import_module('ganprint.datasets.swd')\n"         # 10
        "    from ganprint.benchmark import runner\n")                    # 11
    monkeypatch.setattr(sys.modules[__name__], "PLUGINS", tmp_path / "plugins")
    found = violations(fake, "ganprint.plugins.stega", builtin_plugins())
    assert sorted({int(v.split(":")[1]) for v in found}) == [6, 7, 8, 9, 10, 11]


def test_public_dataset_api_is_documented_and_lazy():
    """Every public name of ``ganprint.datasets`` resolves to a documented callable, the SWD stays
    the function even after its submodule is imported, and importing the package loads no torch."""
    import ganprint.datasets as datasets
    import ganprint.datasets.swd  # noqa: F401 - sets the submodule as a package attribute

    for name in datasets.__all__:
        obj = getattr(datasets, name)
        assert callable(obj) and obj.__doc__, name
        assert name in datasets.__doc__, name
    assert datasets.sliced_wasserstein_distance is ganprint.datasets.swd.swd
    code = ("import sys, ganprint.datasets, ganprint.plugins.stega; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
