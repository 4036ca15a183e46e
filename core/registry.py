"""The plugin registry: every entry point of group ``ganprint`` loaded in isolation.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to import, and
one raising hook stops the rest. Here each entry point is imported in its own try/except and each
hookimpl is called on its own; what fails becomes a :class:`LoadFailure` record and the rest load.
"What fails" is any ``BaseException`` but ``KeyboardInterrupt``: a plugin calling ``sys.exit`` at
import or in a hook is a load failure too, and Ctrl-C still stops.

Names are settled only once every hook has answered, so the outcome never depends on entry-point
names, install order or hookimpl ordering (pluggy's ``tryfirst``/``trylast``):

- a name registered by the ``ganprint`` distribution itself (:data:`RESERVED_DISTRIBUTION`, from a
  module inside the ``ganprint`` package) is reserved: a spec of another distribution reusing it is
  refused, with a failure naming both;
- any other name claimed more than once is refused for every claimant, and selecting it
  (``bench run --plugins NAME``) says why (:attr:`Registry.refused`).
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib.metadata
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Iterable, Sequence

import pluggy

from ganprint import hookspecs
from ganprint.commands import HARNESS_COMMANDS
from ganprint.specs import AttackSpec, CommandSpec, DatasetSpec, DetectorSpec

RESERVED_DISTRIBUTION = "ganprint"

KINDS = {
    "detectors": ("ganprint_detectors", DetectorSpec),
    "attacks": ("ganprint_attacks", AttackSpec),
    "datasets": ("ganprint_datasets", DatasetSpec),
    "commands": ("ganprint_commands", CommandSpec),
}


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that could not contribute: where it came from, at which stage, and why."""

    plugin: str
    distribution: str
    stage: str
    error: str


@dataclass(frozen=True)
class PluginInfo:
    """Where a spec came from, for provenance: plugin (entry point) name and its distribution;
    ``reserved`` when it is ganprint's own (its names are reserved)."""

    plugin: str
    distribution: str
    version: str
    reserved: bool = False

    def describe(self) -> str:
        return f"plugin {self.plugin!r} ({self.distribution})"


class UnknownNameError(LookupError):
    """A selected name matches nothing registered; the message suggests close matches."""


@dataclass
class Registry:
    """Specs by kind and name, where each came from, and what failed to load."""

    specs: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})
    origins: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)
    refused: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})

    @property
    def detectors(self) -> dict[str, DetectorSpec]:
        return self.specs["detectors"]

    @property
    def attacks(self) -> dict[str, AttackSpec]:
        return self.specs["attacks"]

    @property
    def datasets(self) -> dict[str, DatasetSpec]:
        return self.specs["datasets"]

    @property
    def commands(self) -> dict[str, CommandSpec]:
        return self.specs["commands"]

    def origin(self, kind: str, name: str) -> PluginInfo:
        return self.origins[(kind, name)]

    def select(self, kind: str, selection: str) -> list[Any]:
        """Specs named by ``selection``: ``all``, or a comma list of names and globs (``knn,eigen*``).

        The result is in natural order without repeats; a part matching nothing raises
        :class:`UnknownNameError` suggesting the closest registered names.
        """
        available = self.specs[kind]
        ordered = sorted(available, key=natural_key)
        parts = [p.strip() for p in selection.split(",") if p.strip()]
        if not parts:
            raise UnknownNameError(f"no {kind} selected: give 'all' or a comma list of names")
        chosen: list[str] = []
        for part in parts:
            matches = ordered if part == "all" else [n for n in ordered if fnmatch.fnmatchcase(n, part)]
            if not matches:
                raise self._unknown(kind, part)
            chosen.extend(m for m in matches if m not in chosen)
        return [available[n] for n in chosen]

    def get(self, kind: str, name: str) -> Any:
        """One spec by exact name, or :class:`UnknownNameError` with suggestions."""
        if name in self.specs[kind]:
            return self.specs[kind][name]
        raise self._unknown(kind, name)

    def open_dataset(self, text: str) -> Any:
        """The dataset named ``NAME`` or ``NAME:ARG``: the spec's ``factory()`` or ``factory(ARG)``.

        A plugin extends another's namespace by registering ``NAME.SUB``: ``NAME:SUB`` and
        ``NAME:SUB:ARG`` then open it (``zoo:stega`` is the stega plugin's ``zoo.stega``).
        """
        name, sep, arg = text.partition(":")
        sub, _, sub_arg = arg.partition(":")
        if sep and f"{name}.{sub}" in self.specs["datasets"]:
            spec = self.specs["datasets"][f"{name}.{sub}"]
            return spec.factory(sub_arg) if sub_arg else spec.factory()
        spec = self.get("datasets", name)
        return spec.factory(arg) if sep else spec.factory()

    def _unknown(self, kind: str, name: str) -> UnknownNameError:
        refused = sorted((n for n in self.refused[kind] if fnmatch.fnmatchcase(n, name)), key=natural_key)
        if refused:
            return UnknownNameError("; ".join(self.refused[kind][n] for n in refused)
                                    + " (`bench list` shows the plugin load failures)")
        ordered = sorted(self.specs[kind], key=natural_key)
        close = difflib.get_close_matches(name, ordered, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        known = ", ".join(ordered) or "none"
        return UnknownNameError(f"unknown {kind[:-1]} {name!r}{hint} (registered: {known})")


def natural_key(name: str) -> list[Any]:
    """Sort key that orders ``seed2`` before ``seed10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _describe(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points(group=hookspecs.PROJECT)
    unique = {(ep.name, ep.value, _dist_name(ep)): ep for ep in eps}
    return [unique[k] for k in sorted(unique)]


def _dist_name(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else "?"


def _dist_version(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else "?"


def _is_ganprint_module(module: str) -> bool:
    return module == RESERVED_DISTRIBUTION or module.startswith(RESERVED_DISTRIBUTION + ".")


def load_registry(
    *,
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    modules: Sequence[tuple[str, ModuleType | object]] = (),
    blocked: Iterable[str] = (),
) -> Registry:
    """Build a registry from the installed entry points plus ``modules`` given as (name, plugin).

    ``blocked`` names entry points (or modules) to skip, as pluggy's ``set_blocked``. Nothing raises
    but ``KeyboardInterrupt``: failures are in ``registry.failures``, sorted by plugin.
    """
    registry = Registry()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    blocked = set(blocked)

    # (pluggy name, info, plugin object): pluggy names are unique per distribution, so that an
    # entry point named like another distribution's cannot keep that one from registering.
    loaded: list[tuple[str, PluginInfo, object]] = []
    for ep in entry_points if entry_points is not None else _entry_points():
        if ep.name in blocked:
            continue
        dist, version = _dist_name(ep), _dist_version(ep)
        try:
            plugin = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - a plugin's failure (even sys.exit) must not stop the others
            registry.failures.append(LoadFailure(ep.name, dist, "import", _describe(error)))
            continue
        reserved = dist == RESERVED_DISTRIBUTION and _is_ganprint_module(ep.value.partition(":")[0])
        loaded.append((f"{dist}:{ep.name}", PluginInfo(ep.name, dist, version, reserved), plugin))
    for name, plugin in modules:
        if name not in blocked:
            loaded.append((f"(in process):{name}", PluginInfo(name, "(in process)", "?"), plugin))
    # ganprint's own plugins register first: a third-party entry point aliasing one of their modules
    # is then the one refused, whatever the entry points are called
    loaded.sort(key=lambda item: not item[1].reserved)

    infos: dict[str, PluginInfo] = {}
    for key, info, plugin in loaded:
        try:
            manager.register(plugin, name=key)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001
            registry.failures.append(LoadFailure(info.plugin, info.distribution, "register", _describe(error)))
            continue
        infos[key] = info

    claims: dict[str, dict[str, list[tuple[PluginInfo, str, Any]]]] = {kind: {} for kind in KINDS}
    for kind, (hook_name, spec_type) in KINDS.items():
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            info = infos[impl.plugin_name]
            stage = f"hook {hook_name}"
            try:
                records = list(impl.function() or ())
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # noqa: BLE001
                registry.failures.append(LoadFailure(info.plugin, info.distribution, stage, _describe(error)))
                continue
            for record in records:
                if _acceptable(registry, kind, spec_type, record, info, stage):
                    claims[kind].setdefault(record.name, []).append((info, stage, record))  # type: ignore[attr-defined]
    for kind, named in claims.items():
        for name in sorted(named):
            _settle(registry, kind, name, named[name])
    registry.failures.sort(key=lambda f: (f.plugin, f.distribution, f.stage, f.error))
    return registry


def _acceptable(registry: Registry, kind: str, spec_type: type, record: object, info: PluginInfo, stage: str) -> bool:
    """Whether ``record`` may claim its name at all (the right type, not a harness command name)."""
    if not isinstance(record, spec_type):
        registry.failures.append(
            LoadFailure(info.plugin, info.distribution, stage,
                        f"TypeError: returned {type(record).__name__}, expected {spec_type.__name__}")
        )
        return False
    name = record.name  # type: ignore[attr-defined]
    if kind == "commands" and name in HARNESS_COMMANDS:
        registry.failures.append(
            LoadFailure(info.plugin, info.distribution, stage,
                        f"command name {name!r} is reserved for the harness's own command; refused"))
        return False
    return True


def _settle(registry: Registry, kind: str, name: str, claimants: list[tuple[PluginInfo, str, Any]]) -> None:
    """Accept the one claimant of ``name``, or ganprint's own among several; refuse the rest."""
    claimants = sorted(claimants, key=lambda c: (c[0].distribution, c[0].plugin, c[1]))
    reserved = [c for c in claimants if c[0].reserved]
    what = kind[:-1]
    if len(claimants) == 1 or len(reserved) == 1:
        owner = reserved[0] if reserved else claimants[0]
        registry.specs[kind][name] = owner[2]
        registry.origins[(kind, name)] = owner[0]
        for info, stage, _ in claimants:
            if info is not owner[0]:
                registry.failures.append(LoadFailure(
                    info.plugin, info.distribution, stage,
                    f"{what} name {name!r} is reserved: ganprint's own {owner[0].describe()} provides it; "
                    f"this one from {info.describe()} was refused"))
        return
    sources = ", ".join(info.describe() for info, _, _ in claimants)
    message = f"{what} {name!r} was refused: it is provided by {sources}, and a name must be unique"
    registry.refused[kind][name] = message
    for info, stage, _ in claimants:
        registry.failures.append(LoadFailure(
            info.plugin, info.distribution, stage,
            f"duplicate {what} name {name!r}: provided by {sources}; all were refused"))
