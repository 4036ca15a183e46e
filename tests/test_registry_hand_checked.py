"""The registry on cases whose outcome can be worked out by hand (issue #37, mutation testing).

Which spec a name maps to decides under which name a method's numbers are published, so each rule
of ``core/registry.py`` is pinned here on a few fake plugins and entry points:

- names are per kind: a detector and an attack may share a name;
- ganprint's own name wins over a third-party claim of it (whatever the order the entry points come
  in), "ganprint's own" meaning distribution ``ganprint`` *and* a module inside the ``ganprint``
  package; two of ganprint's own claiming one name are refused like any duplicate;
- any other name claimed twice is refused for every claimant;
- messages are spelled out in full, since ``bench list`` and ``bench run`` print them to the user.

Entry points are stand-ins with the four attributes the registry reads (``name``, ``value``,
``dist``, ``load``), so nothing here depends on what is pip-installed, except the last test, which
reads the real ``ganprint`` entry points.
"""
from __future__ import annotations

import email.message
import types
from typing import Any

import pytest

from ganprint import DetectorSpec, hookimpl
from ganprint import registry as registry_module
from ganprint.plugins.knn import KNNAttributor
from ganprint.registry import (
    LoadFailure,
    PluginInfo,
    Registry,
    UnknownNameError,
    _describe,
    _dist_name,
    _dist_version,
    _entry_points,
    _is_ganprint_module,
    load_registry,
    natural_key,
)
from ganprint.specs import AttackSpec, CommandSpec, DatasetSpec

HOOK = "hook ganprint_detectors"


def plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def detectors(*names: str):
    return lambda: [DetectorSpec(n, KNNAttributor, f"{n} detector") for n in names]


def entry_point(name: str, value: str, dist: str | None, loaded: Any = None, version: str = "1.0",
                error: BaseException | None = None) -> types.SimpleNamespace:
    """What the registry reads of an ``importlib.metadata.EntryPoint``; ``dist=None`` has no distribution."""

    def load() -> Any:
        if error is not None:
            raise error
        return loaded

    metadata = email.message.Message()  # what Distribution.metadata is: its keys are case-insensitive
    metadata["Name"] = dist
    distribution = None if dist is None else types.SimpleNamespace(metadata=metadata, version=version)
    return types.SimpleNamespace(name=name, value=value, dist=distribution, load=load)


def failures(registry: Registry) -> list[tuple[str, str, str, str]]:
    return [(f.plugin, f.distribution, f.stage, f.error) for f in registry.failures]


# Names per kind ---------------------------------------------------------------------------------

def _command(name: str) -> CommandSpec:
    return CommandSpec(name, f"{name} command", lambda parser: None, lambda args: 0)


def test_each_kind_keeps_its_own_names_and_one_name_may_serve_two_kinds() -> None:
    d, a = DetectorSpec("x", KNNAttributor, "a detector"), AttackSpec("x", KNNAttributor, "an attack")
    s, c = DatasetSpec("data", lambda *arg: arg, "a dataset"), _command("cmd")
    registry = load_registry(entry_points=[], modules=[("p", plugin(
        ganprint_detectors=lambda: [d], ganprint_attacks=lambda: [a],
        ganprint_datasets=lambda: [s], ganprint_commands=lambda: [c]))])
    assert registry.failures == []
    assert registry.detectors == {"x": d} and registry.attacks == {"x": a}
    assert registry.datasets == {"data": s} and registry.commands == {"cmd": c}
    assert sorted(registry.specs) == ["attacks", "commands", "datasets", "detectors"]
    assert registry.refused == {"detectors": {}, "attacks": {}, "datasets": {}, "commands": {}}
    in_process = PluginInfo("p", "(in process)", "?", False)
    for kind, name in (("detectors", "x"), ("attacks", "x"), ("datasets", "data"), ("commands", "cmd")):
        assert registry.origin(kind, name) == in_process
        assert registry.get(kind, name) is registry.specs[kind][name]


def test_an_empty_registry_has_the_four_kinds_and_nothing_else() -> None:
    empty = Registry()
    assert empty.specs == {"detectors": {}, "attacks": {}, "datasets": {}, "commands": {}}
    assert empty.origins == {} and empty.failures == [] and empty.refused == empty.specs
    with pytest.raises(UnknownNameError) as raised:
        empty.get("attacks", "jpeg")
    assert str(raised.value) == "unknown attack 'jpeg' (registered: none)"


# Ganprint's own names are reserved ----------------------------------------------------------------

OWN = entry_point("own", "ganprint.plugins.fake_own", "ganprint", plugin(ganprint_detectors=detectors("knn")),
                  version="0.1.0")


@pytest.mark.parametrize("third_party_first", [True, False])
def test_a_third_party_claim_of_a_ganprint_name_is_refused_in_either_order(third_party_first: bool) -> None:
    acme = entry_point("acme_ep", "acme_plugin", "acme", plugin(ganprint_detectors=detectors("knn", "acme")))
    registry = load_registry(entry_points=[acme, OWN] if third_party_first else [OWN, acme])
    own_spec = registry.detectors["knn"]
    assert own_spec.summary == "knn detector" and registry.origin("detectors", "knn") == PluginInfo(
        "own", "ganprint", "0.1.0", True)
    assert registry.origin("detectors", "acme") == PluginInfo("acme_ep", "acme", "1.0", False)
    assert sorted(registry.detectors) == ["acme", "knn"] and registry.refused["detectors"] == {}
    assert failures(registry) == [("acme_ep", "acme", HOOK,
                                   "detector name 'knn' is reserved: ganprint's own plugin 'own' (ganprint) "
                                   "provides it; this one from plugin 'acme_ep' (acme) was refused")]


@pytest.mark.parametrize("value", ["evil_module:plugin", "ganprintx.plugins:plugin"])
@pytest.mark.parametrize("impostor_first", [True, False])
def test_a_ganprint_distribution_module_outside_the_package_loses_to_ganprint_s_own(value: str,
                                                                                    impostor_first: bool) -> None:
    """Distribution ``ganprint`` is not enough to own a name: the module must be in the package."""
    impostor = entry_point("impostor", value, "ganprint", plugin(ganprint_detectors=detectors("knn")))
    registry = load_registry(entry_points=[impostor, OWN] if impostor_first else [OWN, impostor])
    assert registry.origin("detectors", "knn") == PluginInfo("own", "ganprint", "0.1.0", True)
    assert failures(registry) == [("impostor", "ganprint", HOOK,
                                   "detector name 'knn' is reserved: ganprint's own plugin 'own' (ganprint) "
                                   "provides it; this one from plugin 'impostor' (ganprint) was refused")]


def test_reservation_needs_ganprint_s_distribution_and_package_module() -> None:
    def claim(name: str, value: str, dist: str):
        return entry_point(name, value, dist, plugin(ganprint_detectors=detectors("knn")))

    # distribution ganprint, module outside the package: not reserved -> a plain duplicate
    registry = load_registry(entry_points=[claim("a", "ganprintish:p", "ganprint"), claim("b", "other:p", "zed")])
    assert registry.detectors == {}
    assert registry.refused["detectors"] == {
        "knn": "detector 'knn' was refused: it is provided by plugin 'a' (ganprint), plugin 'b' (zed), "
               "and a name must be unique"}
    # module inside the package, another distribution: not reserved either
    registry = load_registry(entry_points=[claim("a", "ganprint.plugins.knn", "alias"), claim("b", "other:p", "zed")])
    assert registry.detectors == {} and list(registry.refused["detectors"]) == ["knn"]
    # the package itself (no sub-module) under distribution ganprint: reserved
    registry = load_registry(entry_points=[claim("b", "other:p", "zed"), claim("a", "ganprint:p", "ganprint")])
    assert registry.origin("detectors", "knn") == PluginInfo("a", "ganprint", "1.0", True)


def test_is_ganprint_module_is_the_package_or_inside_it() -> None:
    assert _is_ganprint_module("ganprint") and _is_ganprint_module("ganprint.plugins.knn")
    assert not _is_ganprint_module("ganprintx") and not _is_ganprint_module("ganprint_extra.x")
    assert not _is_ganprint_module("my.ganprint") and not _is_ganprint_module("")


def test_two_of_ganprint_s_own_plugins_claiming_one_name_are_both_refused() -> None:
    one = entry_point("one", "ganprint.plugins.one", "ganprint", plugin(ganprint_detectors=detectors("dup")))
    two = entry_point("two", "ganprint.plugins.two", "ganprint", plugin(ganprint_detectors=detectors("dup")))
    registry = load_registry(entry_points=[two, one])
    assert registry.detectors == {}
    message = "detector 'dup' was refused: it is provided by plugin 'one' (ganprint), plugin 'two' (ganprint), " \
              "and a name must be unique"
    assert registry.refused["detectors"] == {"dup": message}
    duplicate = ("duplicate detector name 'dup': provided by plugin 'one' (ganprint), plugin 'two' (ganprint); "
                 "all were refused")
    assert failures(registry) == [("one", "ganprint", HOOK, duplicate), ("two", "ganprint", HOOK, duplicate)]


def test_a_third_party_alias_of_ganprint_s_own_module_is_the_one_refused() -> None:
    """Two entry points loading one module object: pluggy registers an object once, and the
    registry registers ganprint's own first, so the alias fails at ``register`` (listed first here)."""
    shared = plugin(ganprint_detectors=detectors("knn"))
    alias = entry_point("alias", "ganprint.plugins.fake_own", "aaa", shared)
    own = entry_point("own", "ganprint.plugins.fake_own", "ganprint", shared)
    registry = load_registry(entry_points=[alias, own])
    assert registry.origin("detectors", "knn") == PluginInfo("own", "ganprint", "1.0", True)
    ((plugin_name, dist, stage, error),) = failures(registry)
    assert (plugin_name, dist, stage) == ("alias", "aaa", "register")
    assert error.startswith("ValueError: Plugin already registered under a different name: aaa:alias=")


def test_entry_points_of_one_name_in_two_distributions_both_register() -> None:
    first = entry_point("same", "mod_one", "dist-one", plugin(ganprint_detectors=detectors("one")))
    second = entry_point("same", "mod_two", "dist-two", plugin(ganprint_detectors=detectors("two")))
    registry = load_registry(entry_points=[first, second])
    assert registry.failures == [] and sorted(registry.detectors) == ["one", "two"]
    assert registry.origin("detectors", "two").distribution == "dist-two"


# Duplicates among third parties -------------------------------------------------------------------

def test_a_duplicate_names_its_claimants_sorted_by_distribution_then_plugin() -> None:
    """Claims made in the order zeta(dist b), alpha(dist b), mid(dist a): sorted by distribution,
    then plugin, the sources read mid (a), alpha (b), zeta (b)."""
    registry = load_registry(entry_points=[
        entry_point("zeta", "z", "b", plugin(ganprint_detectors=detectors("same"))),
        entry_point("alpha", "x", "b", plugin(ganprint_detectors=detectors("same"))),
        entry_point("mid", "m", "a", plugin(ganprint_detectors=detectors("same", "kept"))),
    ])
    assert list(registry.detectors) == ["kept"]
    sources = "plugin 'mid' (a), plugin 'alpha' (b), plugin 'zeta' (b)"
    assert registry.refused["detectors"]["same"] == (
        f"detector 'same' was refused: it is provided by {sources}, and a name must be unique")
    expected = f"duplicate detector name 'same': provided by {sources}; all were refused"
    # failures sorted by plugin name: alpha, mid, zeta
    assert failures(registry) == [("alpha", "b", HOOK, expected), ("mid", "a", HOOK, expected),
                                  ("zeta", "b", HOOK, expected)]
    with pytest.raises(UnknownNameError) as raised:
        registry.select("detectors", "sa*")
    assert str(raised.value) == (f"detector 'same' was refused: it is provided by {sources}, and a name must be "
                                 "unique (`bench list` shows the plugin load failures)")


def test_one_plugin_claiming_a_name_twice_is_refused_too() -> None:
    registry = load_registry(entry_points=[], modules=[("p", plugin(ganprint_detectors=detectors("twice", "twice")))])
    assert registry.detectors == {}
    assert registry.refused["detectors"]["twice"] == (
        "detector 'twice' was refused: it is provided by plugin 'p' ((in process)), plugin 'p' ((in process)), "
        "and a name must be unique")
    assert len(registry.failures) == 2


def test_one_plugin_giving_two_different_specs_one_name_is_refused_not_a_crash() -> None:
    """Claimants are ordered by (distribution, plugin, stage): never by the specs themselves, which
    have no order (two specs of one plugin under one name must not be compared)."""
    registry = load_registry(entry_points=[], modules=[("p", plugin(ganprint_detectors=lambda: [
        DetectorSpec("twice", KNNAttributor, "first"), DetectorSpec("twice", KNNAttributor, "second")]))])
    assert registry.detectors == {} and list(registry.refused["detectors"]) == ["twice"]


def test_refused_names_matching_a_glob_are_all_given_in_natural_order() -> None:
    a = plugin(ganprint_detectors=detectors("x10", "x2", "y"))
    b = plugin(ganprint_detectors=detectors("x10", "x2"))
    registry = load_registry(entry_points=[], modules=[("a", a), ("b", b)])
    assert registry.select("detectors", "all") == [registry.detectors["y"]]
    with pytest.raises(UnknownNameError) as raised:
        registry.select("detectors", "x*")
    both = "plugin 'a' ((in process)), plugin 'b' ((in process))"
    assert str(raised.value) == (
        f"detector 'x2' was refused: it is provided by {both}, and a name must be unique; "
        f"detector 'x10' was refused: it is provided by {both}, and a name must be unique "
        "(`bench list` shows the plugin load failures)")


# Failures at each stage ---------------------------------------------------------------------------

def test_failures_are_recorded_per_stage_sorted_and_the_rest_loads() -> None:
    def exits():
        raise SystemExit("bye")

    registry = load_registry(
        entry_points=[
            entry_point("zz", "zz_mod", "zdist", error=ImportError("no zz\nsecond line")),
            entry_point("aa", "aa_mod", "adist", error=SystemExit(3)),
            entry_point("mm", "mm_mod", "mdist", plugin(ganprint_detectors=exits)),
            entry_point("ok", "ok_mod", "odist", plugin(ganprint_detectors=detectors("fine"))),
        ],
        modules=[("nothing", plugin(ganprint_detectors=lambda: None)),
                 ("odd", plugin(ganprint_attacks=lambda: [DetectorSpec("d", KNNAttributor, "wrong kind")]))],
    )
    assert list(registry.detectors) == ["fine"] and registry.attacks == {}
    assert failures(registry) == [
        ("aa", "adist", "import", "SystemExit: 3"),
        ("mm", "mdist", HOOK, "SystemExit: bye"),
        ("odd", "(in process)", "hook ganprint_attacks", "TypeError: returned DetectorSpec, expected AttackSpec"),
        ("zz", "zdist", "import", "ImportError: no zz"),
    ]


def test_failures_of_one_plugin_sort_by_distribution_then_stage_then_error() -> None:
    registry = load_registry(entry_points=[
        entry_point("p", "m2", "dist-b", error=ImportError("b")),
        entry_point("p", "m3", "dist-a", plugin(ganprint_detectors=lambda: [1, "two"])),
        entry_point("p", "m1", "dist-a", error=ImportError("a")),
    ])
    assert failures(registry) == [
        ("p", "dist-a", HOOK, "TypeError: returned int, expected DetectorSpec"),
        ("p", "dist-a", HOOK, "TypeError: returned str, expected DetectorSpec"),
        ("p", "dist-a", "import", "ImportError: a"),
        ("p", "dist-b", "import", "ImportError: b"),
    ]


def test_a_register_failure_does_not_stop_the_plugins_after_it() -> None:
    shared = plugin(ganprint_detectors=detectors("a"))
    registry = load_registry(entry_points=[
        entry_point("first", "m1", "d1", shared),
        entry_point("again", "m2", "d2", shared),  # the same object: pluggy refuses it
        entry_point("later", "m3", "d3", plugin(ganprint_detectors=detectors("b"))),
    ])
    assert sorted(registry.detectors) == ["a", "b"]
    assert [(f.plugin, f.stage) for f in registry.failures] == [("again", "register")]


def test_a_failing_hook_does_not_stop_the_hooks_after_it() -> None:
    def boom():
        raise RuntimeError("exploded")

    registry = load_registry(entry_points=[], modules=[
        ("first", plugin(ganprint_detectors=detectors("one"))),
        ("bad", plugin(ganprint_detectors=boom)),
        ("last", plugin(ganprint_detectors=detectors("two"))),
    ])
    assert sorted(registry.detectors) == ["one", "two"]
    assert failures(registry) == [("bad", "(in process)", HOOK, "RuntimeError: exploded")]


def test_keyboard_interrupt_is_not_a_load_failure() -> None:
    with pytest.raises(KeyboardInterrupt):
        load_registry(entry_points=[entry_point("stop", "m", "d", error=KeyboardInterrupt())])

    def interrupt():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_registry(entry_points=[], modules=[("stop", plugin(ganprint_detectors=interrupt))])


def test_a_harness_command_name_is_refused_but_only_for_commands() -> None:
    registry = load_registry(entry_points=[], modules=[("p", plugin(
        ganprint_commands=lambda: [_command("run"), _command("mine")],
        ganprint_detectors=detectors("run")))])
    assert list(registry.commands) == ["mine"] and list(registry.detectors) == ["run"]
    assert failures(registry) == [("p", "(in process)", "hook ganprint_commands",
                                   "command name 'run' is reserved for the harness's own command; refused")]


def test_blocked_entry_points_and_modules_are_never_loaded() -> None:
    never = AssertionError("a blocked entry point was loaded")
    registry = load_registry(
        entry_points=[entry_point("skip", "m", "d", error=never),
                      entry_point("keep", "k", "d", plugin(ganprint_detectors=detectors("kept")))],
        modules=[("gone", plugin(ganprint_detectors=detectors("gone"))),
                 ("here", plugin(ganprint_detectors=detectors("here")))],
        blocked=iter(["skip", "gone"]),  # an iterable is read once into a set: both must still apply
    )
    assert registry.failures == [] and sorted(registry.detectors) == ["here", "kept"]


def test_a_distribution_less_entry_point_is_named_with_a_question_mark() -> None:
    orphan = entry_point("orphan", "m", None, plugin(ganprint_detectors=detectors("lone")))
    assert _dist_name(orphan) == "?" and _dist_version(orphan) == "?"
    registry = load_registry(entry_points=[orphan])
    assert registry.origin("detectors", "lone") == PluginInfo("orphan", "?", "?", False)
    assert _dist_version(entry_point("e", "m", "d", version="2.5")) == "2.5"
    assert _dist_name(entry_point("e", "m", "named")) == "named"


def test_an_entry_point_without_a_dist_attribute_is_named_with_a_question_mark() -> None:
    """Entry points of Python < 3.10 (a named tuple) have no ``dist`` at all."""
    bare = types.SimpleNamespace(name="bare", value="m", load=lambda: plugin(ganprint_detectors=detectors("b")))
    assert _dist_name(bare) == "?" and _dist_version(bare) == "?"
    assert load_registry(entry_points=[bare]).origin("detectors", "b") == PluginInfo("bare", "?", "?", False)


def test_entry_points_are_read_from_the_ganprint_group_once_each_in_sorted_order(monkeypatch) -> None:
    b = entry_point("b", "mod_b", "dist")
    a = entry_point("a", "mod_a", "dist")
    b_again = entry_point("b", "mod_b", "dist")  # the same entry point seen twice (two sys.path entries)
    a_other = entry_point("a", "mod_a", "other")
    groups = []
    monkeypatch.setattr(registry_module.importlib.metadata, "entry_points",
                        lambda group: groups.append(group) or [b, a, b_again, a_other])
    found = _entry_points()
    assert groups == ["ganprint"]
    # keys (name, value, distribution), sorted: (a, mod_a, dist), (a, mod_a, other), (b, mod_b, dist);
    # of the two equal keys the later one is kept
    assert [id(ep) for ep in found] == [id(a), id(a_other), id(b_again)]


def test_describe_keeps_the_type_and_the_first_line_only() -> None:
    assert _describe(ValueError("  first\nsecond ")) == "ValueError: first"
    assert _describe(ValueError()) == "ValueError"
    assert _describe(ValueError("   ")) == "ValueError"
    assert _describe(SystemExit(2)) == "SystemExit: 2"


def test_load_failure_and_plugin_info_are_plain_records() -> None:
    info = PluginInfo("knn", "ganprint", "0.1")
    assert info.reserved is False and info.describe() == "plugin 'knn' (ganprint)"
    assert LoadFailure("p", "d", "import", "E") == LoadFailure("p", "d", "import", "E")


# Selection ---------------------------------------------------------------------------------------

@pytest.fixture
def seeds() -> Registry:
    return load_registry(entry_points=[], modules=[("p", plugin(
        ganprint_detectors=detectors("seed10", "seed2", "knn", "eigen", "eigenx")))])


def test_natural_key_splits_digits_into_numbers() -> None:
    # re.split with a capturing group keeps the digit runs: "seed10" -> ["seed", "10", ""]
    assert natural_key("seed10") == ["seed", 10, ""]
    assert natural_key("a2b03") == ["a", 2, "b", 3, ""]
    assert natural_key("knn") == ["knn"]
    assert sorted(["seed10", "seed9", "seed1"], key=natural_key) == ["seed1", "seed9", "seed10"]


def test_selection_strips_parts_drops_repeats_and_keeps_the_order_given(seeds: Registry) -> None:
    names = lambda sel: [s.name for s in seeds.select("detectors", sel)]  # noqa: E731
    assert names(" knn , eigen ") == ["knn", "eigen"]
    assert names("knn,all") == ["knn", "eigen", "eigenx", "seed2", "seed10"]
    assert names("seed*,,seed2") == ["seed2", "seed10"]
    assert names("eigen") == ["eigen"]  # an exact name, not a prefix
    assert names("eigen?") == ["eigenx"]


@pytest.mark.parametrize("selection", ["", " ", ",", " , "])
def test_an_empty_selection_is_refused(seeds: Registry, selection: str) -> None:
    with pytest.raises(UnknownNameError) as raised:
        seeds.select("detectors", selection)
    assert str(raised.value) == "no detectors selected: give 'all' or a comma list of names"


def test_get_takes_an_exact_name_only(seeds: Registry) -> None:
    assert seeds.get("detectors", "seed2").name == "seed2"
    with pytest.raises(UnknownNameError) as raised:
        seeds.get("detectors", "seed*")
    # seed* vs seed2: 2·4/10 = 0.8, vs seed10: 2·4/11 = 0.73, vs knn/eigen/eigenx: below 0.5
    assert str(raised.value) == ("unknown detector 'seed*'; did you mean seed2, seed10? "
                                 "(registered: eigen, eigenx, knn, seed2, seed10)")


def test_suggestions_are_the_three_closest_at_a_ratio_of_at_least_one_half() -> None:
    """difflib's ratio is 2·M/T (M matching characters, T both lengths). Against ``abcdef``:
    abcdefg 2·6/13 = 0.92, abcdex 2·5/12 = 0.83, abcdxx 2·4/12 = 0.67, abcxxx 2·3/12 = 0.50 (exactly
    the cutoff, which is inclusive), zzzzzz 0: four qualify, the best three are suggested."""
    registry = load_registry(entry_points=[], modules=[("p", plugin(
        ganprint_detectors=detectors("abcxxx", "abcdxx", "zzzzzz", "abcdex", "abcdefg")))])
    with pytest.raises(UnknownNameError) as raised:
        registry.select("detectors", "abcdef")
    assert str(raised.value) == ("unknown detector 'abcdef'; did you mean abcdefg, abcdex, abcdxx? "
                                 "(registered: abcdefg, abcdex, abcdxx, abcxxx, zzzzzz)")
    with pytest.raises(UnknownNameError) as raised:
        # ab vs abcxxx, abcdxx, abcdex: 2·2/8 = 0.5 each (difflib breaks the tie by the later name
        # first), vs abcdefg: 2·2/9 = 0.44, below the cutoff
        registry.get("detectors", "ab")
    assert str(raised.value).startswith("unknown detector 'ab'; did you mean abcxxx, abcdxx, abcdex? (")


# Datasets by NAME, NAME:ARG and a plugin's NAME.SUB ----------------------------------------------

def test_open_dataset_resolves_arguments_and_sub_namespaces() -> None:
    def factory(tag: str):
        return lambda *args: (tag, args)

    registry = load_registry(entry_points=[], modules=[("p", plugin(ganprint_datasets=lambda: [
        DatasetSpec("zoo", factory("zoo"), "zoo"), DatasetSpec("zoo.stega", factory("zoo.stega"), "sub"),
        DatasetSpec("folder", factory("folder"), "folder")]))])
    assert registry.open_dataset("zoo") == ("zoo", ())
    assert registry.open_dataset("zoo:") == ("zoo", ("",))  # a colon gives an argument, even an empty one
    assert registry.open_dataset("zoo:other") == ("zoo", ("other",))
    assert registry.open_dataset("zoo:stega") == ("zoo.stega", ())
    assert registry.open_dataset("zoo:stega:small") == ("zoo.stega", ("small",))
    assert registry.open_dataset("zoo.stega") == ("zoo.stega", ())
    assert registry.open_dataset("folder:/data/x:y") == ("folder", ("/data/x:y",))
    assert registry.open_dataset("zoo:other:x") == ("zoo", ("other:x",))
    with pytest.raises(UnknownNameError, match="unknown dataset 'zo'; did you mean zoo"):
        registry.open_dataset("zo:stega")


def test_a_name_without_colon_never_opens_a_sub_namespace() -> None:
    """``zoo`` is the dataset ``zoo`` even when a plugin registers ``zoo.`` (a valid name)."""
    registry = load_registry(entry_points=[], modules=[("p", plugin(ganprint_datasets=lambda: [
        DatasetSpec("zoo", lambda *a: ("zoo", a), "zoo"), DatasetSpec("zoo.", lambda *a: ("zoo.", a), "dot")]))])
    assert registry.open_dataset("zoo") == ("zoo", ())
    assert registry.open_dataset("zoo:") == ("zoo.", ())


# The installed ganprint -------------------------------------------------------------------------

def test_the_installed_built_in_plugins_are_reserved() -> None:
    registry = load_registry()
    info = registry.origin("detectors", "knn")
    assert info.distribution == "ganprint" and info.reserved is True
