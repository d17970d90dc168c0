"""Tool options declared once (detector/config/tool_options.py): every option of every tool's parser is a field of the
tool's options dataclass, and its default, help text and range on the command line are the field's declaration;
a value outside the declared range exits 2 naming the flag and the range. Options written by hand in a parser
(paths, switches: ``--json``, ``--quiet``) carry no default of their own."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from dataclasses import dataclass

import pytest

from detector.cli.option_args import add_options, help_text, options_from_args
from detector.cli.tool_args import CONFIG_FLAGS
from detector.cli.tool_table import TOOL_OPTIONS, options_class, tool_args
from detector.config import option_at
from detector.config.tool_options import AT_LEAST_1, KEY_DEFAULT, Declared, Range, declared, defaults, option

DECLARED_TOOLS = [tool for tool, where in TOOL_OPTIONS.items() if where is not None]


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


def parser_of(tool: str, monkeypatch) -> argparse.ArgumentParser:
    """The parser ``tool``'s main builds (``"benchmark suite"``: the subcommand's), stopped before it parses."""
    name, _, sub = tool.partition(" ")

    def stop(self, args=None, namespace=None):
        raise _Parsed(self)

    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, "parse_known_args", stop)
        with pytest.raises(_Parsed) as parsed:
            importlib.import_module(f"detector.cli.{name}").main([])
    parser = parsed.value.parser
    if sub:
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = subs.choices[sub]
    return parser


def required_argv(fields: list[Declared]) -> tuple[list[str], dict[str, str]]:
    """A command line that gives each required option (no default, or a positional without nargs) the value "x"."""
    argv: list[str] = []
    given = {}
    for d in fields:
        if d.option.positional and d.option.nargs is None:
            argv.append("x")
        elif d.default is dataclasses.MISSING:
            argv += [d.flags[0], "x"]
        else:
            continue
        given[d.name] = "x"
    return argv, given


def _action(parser: argparse.ArgumentParser, d: Declared) -> argparse.Action:
    return next(a for a in parser._actions if a.dest == d.name)


@pytest.mark.parametrize("tool", DECLARED_TOOLS)
def test_every_option_comes_from_a_declared_field(tool: str, monkeypatch) -> None:
    parser = parser_of(tool, monkeypatch)
    cls = options_class(tool)
    assert cls is not None
    fields = declared(cls)
    aliases = {f.lstrip("-").replace("-", "_") for f in CONFIG_FLAGS.get(tool, {})}
    names = {d.name for d in fields}
    for action in parser._actions:
        if action.dest in names:
            d = next(d for d in fields if d.name == action.dest)
            assert action.help == help_text(d), (tool, d.name)
            flags = [] if d.option.positional else list(d.flags)
            if d.option.both:  # --x / --no-x
                flags += [f"--no-{f[2:]}" for f in d.flags]
            assert list(action.option_strings) == flags, (tool, d.name)
            spec = getattr(action.type, "spec", None)
            assert spec == d.spec, (tool, d.name)  # the declared range (None: not a number)
        elif action.dest not in aliases and not isinstance(action, argparse._HelpAction):
            # written by hand in the tool: a path or a switch, never a default of its own
            assert action.default in (None, False), f"{tool} {action.option_strings}: default {action.default!r}"
    assert names <= {a.dest for a in parser._actions}, f"{tool}: declared options missing from the parser"


@pytest.mark.parametrize("tool", [tool for tool, where in TOOL_OPTIONS.items() if where is None])
def test_a_tool_without_an_options_class_has_no_defaults_to_repeat(tool: str, monkeypatch) -> None:
    """train, check_dataset, yolo2coco, convert_darknet: paths and switches written in the parser, none with a
    default value (so there is nothing to declare once)."""
    parser = parser_of(tool, monkeypatch)
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction):
            assert action.default in (None, False, []), f"{tool} {action.option_strings}: default {action.default!r}"
            assert action.type not in (int, float), f"{tool} {action.option_strings}: a number is an option(...)"


@pytest.mark.parametrize("tool", DECLARED_TOOLS)
def test_parsing_only_the_required_options_gives_the_declared_defaults(tool: str, monkeypatch) -> None:
    parser = parser_of(tool, monkeypatch)
    cls = options_class(tool)
    assert cls is not None
    fields = declared(cls)
    argv, given = required_argv(fields)
    args = parser.parse_args(argv)
    sweeps = {d.name: getattr(args, d.name)[0] for d in fields if d.option.sweep}  # --dtype fp32,bf16: one run each
    opts = options_from_args(args, cls, **sweeps)
    expected = {**defaults(cls), **given}
    assert {d.name: getattr(opts, d.name) for d in fields} == expected
    for d in fields:
        if d.option.sweep:
            assert getattr(args, d.name) == [d.default]


def _outside(allowed: Range) -> str:
    """A number just outside ``allowed``."""
    if allowed.lo is not None:
        return f"{allowed.lo:g}" if allowed.lo_open else f"{allowed.lo - 1:g}"
    assert allowed.hi is not None
    return f"{allowed.hi + 1:g}"


@pytest.mark.parametrize("tool", DECLARED_TOOLS)
def test_a_value_outside_the_declared_range_exits_2_naming_flag_and_range(tool: str, monkeypatch, capsys) -> None:
    parser = parser_of(tool, monkeypatch)
    cls = options_class(tool)
    assert cls is not None
    numeric = [d for d in declared(cls) if d.spec is not None]
    assert {d.flags[0] for d in numeric} <= set(tool_args()[tool])  # the ranges table lists each of them
    for d in numeric:
        spec = d.spec
        assert spec is not None
        bad = _outside(spec.allowed)
        value = f"{bad},{bad}" if d.option.comma or d.option.sweep else bad
        with pytest.raises(SystemExit) as e:
            parser.parse_args([f"{d.flags[0]}={value}"])  # =: a list that starts with "-"
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        names = "/".join(d.flags)
        assert f"error: argument {names}: must be {spec.allowed.describe()}, got {bad}" in err, err


def test_the_table_has_every_declared_number_and_config_flag() -> None:
    table = tool_args()
    assert set(table) == set(TOOL_OPTIONS)
    for tool in DECLARED_TOOLS:
        cls = options_class(tool)
        assert cls is not None
        numbers = {d.flags[0]: d.spec for d in declared(cls) if d.spec is not None}
        value_flags = {f for f, a in CONFIG_FLAGS.get(tool, {}).items() if a.const is None}
        assert set(table[tool]) == set(numbers) | value_flags, tool
        assert all(table[tool][f] == s for f, s in numbers.items())


@dataclass
class _Demo:
    path: str = option(doc="a required path")
    count: int = option(3, "how many", range=AT_LEAST_1)
    seed: int = option(KEY_DEFAULT, key="data.shapes.seed")
    fuse: bool = option(True, "keep layers apart", flag="--no-fuse", negate=True)
    sizes: list[int] = option([320], "sides", key="data.img_size", comma=True)


def test_a_declaration_gives_default_help_range_and_flag() -> None:
    parser = argparse.ArgumentParser(prog="demo")
    add_options(parser, _Demo, "demo")
    args = parser.parse_args(["--path", "p"])
    demo = options_from_args(args, _Demo)
    assert demo == _Demo(path="p", count=3, seed=option_at("data.shapes.seed").default, fuse=True, sizes=[320])
    assert _Demo(path="a").sizes is not _Demo(path="b").sizes  # a list default is copied per instance
    by_dest = {a.dest: a for a in parser._actions}
    assert by_dest["count"].help == "how many (default: 3)" and by_dest["path"].required
    assert by_dest["seed"].help.startswith("random seed")  # the config key's doc
    assert options_from_args(parser.parse_args(["--path", "p", "--no-fuse", "--sizes", "64,96"]), _Demo).fuse is False
    with pytest.raises(SystemExit):
        parser.parse_args(["--path", "p", "--sizes", "64,100"])


def test_a_number_without_a_range_or_a_switch_defaulting_on_is_refused() -> None:
    @dataclass
    class NoRange:
        n: int = option(1, "a number")

    @dataclass
    class OnSwitch:
        on: bool = option(True, "a switch")

    for cls, message in ((NoRange, "needs range= or key="), (OnSwitch, "switch's default is False")):
        with pytest.raises(TypeError, match=message):
            add_options(argparse.ArgumentParser(), cls, "demo")
