"""The plugin registry: every entry point of group ``ganprint`` loaded in isolation.

pluggy's own ``load_setuptools_entrypoints`` stops at the first plugin that fails to import, and
one raising hook stops the rest. Here each entry point is imported in its own try/except and each
hookimpl is called on its own; what fails becomes a :class:`LoadFailure` record and the rest load.
A name provided twice is refused with a failure naming both sources; the first (in entry-point
name order) is kept, never silently overwritten.
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
    """Where a spec came from, for provenance: plugin (entry point) name and its distribution."""

    plugin: str
    distribution: str
    version: str


class UnknownNameError(LookupError):
    """A selected name matches nothing registered; the message suggests close matches."""


@dataclass
class Registry:
    """Specs by kind and name, where each came from, and what failed to load."""

    specs: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})
    origins: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)

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


def load_registry(
    *,
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    modules: Sequence[tuple[str, ModuleType | object]] = (),
    blocked: Iterable[str] = (),
) -> Registry:
    """Build a registry from the installed entry points plus ``modules`` given as (name, plugin).

    ``blocked`` names entry points to skip (pluggy's ``set_blocked``). Nothing raises: failures are
    in ``registry.failures``.
    """
    registry = Registry()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    blocked = set(blocked)
    for name in blocked:
        manager.set_blocked(name)

    infos: dict[str, PluginInfo] = {}
    plugins: list[tuple[str, object]] = []
    for ep in entry_points if entry_points is not None else _entry_points():
        if ep.name in blocked:
            continue
        dist, version = _dist_name(ep), _dist_version(ep)
        try:
            plugin = ep.load()
        except Exception as error:  # a broken third-party plugin must not stop the others
            registry.failures.append(LoadFailure(ep.name, dist, "import", _describe(error)))
            continue
        infos[ep.name] = PluginInfo(ep.name, dist, version)
        plugins.append((ep.name, plugin))
    for name, plugin in modules:
        infos[name] = PluginInfo(name, "(in process)", "?")
        plugins.append((name, plugin))

    for name, plugin in plugins:
        try:
            manager.register(plugin, name=name)
        except Exception as error:
            registry.failures.append(LoadFailure(name, infos[name].distribution, "register", _describe(error)))
            infos.pop(name)

    for kind, (hook_name, spec_type) in KINDS.items():
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            info = infos[impl.plugin_name]
            stage = f"hook {hook_name}"
            try:
                records = list(impl.function() or ())
            except Exception as error:
                registry.failures.append(LoadFailure(info.plugin, info.distribution, stage, _describe(error)))
                continue
            for record in records:
                _add(registry, kind, spec_type, record, info, stage)
    return registry


def _add(registry: Registry, kind: str, spec_type: type, record: object, info: PluginInfo, stage: str) -> None:
    if not isinstance(record, spec_type):
        registry.failures.append(
            LoadFailure(info.plugin, info.distribution, stage,
                        f"TypeError: returned {type(record).__name__}, expected {spec_type.__name__}")
        )
        return
    name = record.name  # type: ignore[attr-defined]
    if kind == "commands" and name in HARNESS_COMMANDS:
        registry.failures.append(
            LoadFailure(info.plugin, info.distribution, stage,
                        f"command name {name!r} is reserved for the harness's own command; refused"))
        return
    if name in registry.specs[kind]:
        first = registry.origins[(kind, name)]
        registry.failures.append(
            LoadFailure(info.plugin, info.distribution, stage,
                        f"duplicate {kind[:-1]} name {name!r}: already provided by plugin "
                        f"{first.plugin!r} ({first.distribution}); this one from {info.plugin!r} "
                        f"({info.distribution}) was refused")
        )
        return
    registry.specs[kind][name] = record
    registry.origins[(kind, name)] = info
