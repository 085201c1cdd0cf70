"""Every run setting, declared once.

This table is the only place a setting is declared. From it come the pytest options
(``--compviz-NAME``), the ``compviz`` flags (``--NAME``), the ``[tool.compviz]`` keys, pytest's
ini keys where a setting has one, the rule that decides whether a pytest run involves compviz at
all, and the configuration reference of the docs (``reference_markdown``; a test holds
docs/configuration.md against it). Rules and metrics are structured (``[[tool.compviz.rules]]``,
``[[tool.compviz.metrics]]``): their keys are documented in ``rules.py`` and ``files.py``.

Stdlib only: pytest reads this table at start-up in every run where the plugin is installed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

PYTEST, CLI, CONFIG = "pytest", "compviz", "[tool.compviz]"


@dataclass(frozen=True)
class Setting:
    name: str  # the [tool.compviz] key and the stem of both faces' flags
    help: str
    example: str  # a value as it is written on a command line ("" for a flag)
    dest: str = ""  # the ``config.options.Given`` field it fills; the name in snake case by default
    faces: frozenset[str] = frozenset({PYTEST, CLI, CONFIG})
    flag: bool = False  # takes no value
    repeat: bool = False  # may be given many times, each adding a value
    choices: tuple[str, ...] = ()
    metavar: str = "VALUE"
    ini: bool = False  # pytest also reads it from its ini files as compviz_<name in snake case>
    key: str = ""  # its [tool.compviz] key where that is not its name (a list's plural)
    cli_aliases: tuple[str, ...] = ()  # more spellings of the compviz flag (NNCF's tool's own)
    old: tuple[str, ...] = ()  # former names, still read for one release with a deprecation warning
    # Turns an option's text into its value; raises ValueError with the message to show. The
    # second argument names where the text came from (e.g. "--compviz-rule 2").
    parse: Callable[[str, str], object] | None = field(default=None, compare=False)

    @property
    def field(self) -> str:
        return self.dest or self.name.replace("-", "_")

    @property
    def pytest_flag(self) -> str:
        return f"--compviz-{self.name}"

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"

    @property
    def config_key(self) -> str:
        return self.key or self.name

    @property
    def ini_name(self) -> str:
        return f"compviz_{self.config_key.replace('-', '_')}"

    def flag_of(self, face: str) -> str:
        return self.pytest_flag if face == PYTEST else self.cli_flag


def _rule(text: str, source: str):
    from .rules import RuleError, parse_rule_string

    try:
        return parse_rule_string(text, source)
    except RuleError as exc:
        raise ValueError(str(exc)) from None


def _count(text: str, source: str) -> int:
    from .history import positive_int

    return positive_int(text, source)


def _tolerance(text: str, source: str):
    from .rules import RuleError, parse_tolerance

    try:
        return parse_tolerance(text, source)
    except RuleError as exc:
        raise ValueError(str(exc)) from None


SETTINGS: tuple[Setting, ...] = (
    Setting("input", "a results file (CSV or sweep manifest) to gate. In pytest, given inputs"
            " replace the configured ones and the testpaths (paths named beside them are collected too).",
            "data/llama2_asym.csv",
            dest="inputs", key="inputs", repeat=True, metavar="CSV", ini=True, cli_aliases=("-i", "--input-file", "--input_file")),
    Setting("files", "globs of results files collected from the test paths, relative to the configuration file.",
            "results/*.csv", faces=frozenset({CONFIG}), repeat=True, ini=True),
    Setting("output-dir", "where tables, plots, summary.md and compviz.json are written (default: compviz-report/"
            " beside the configuration file).", "compviz-report", metavar="DIR", ini=True,
            cli_aliases=("-o", "--output_dir")),
    Setting("config", "read [tool.compviz] (or, when it has none, the whole file) from this TOML file instead of"
            " the discovered pyproject.toml.", "ci/compviz.toml", faces=frozenset({PYTEST, CLI}), metavar="TOML"),
    Setting("rule", "a threshold rule applied after the configured ones (the last matching rule wins"
            " per check); the keys of [[tool.compviz.rules]] as key=value pairs.",
            "mode=int8; max-relative-error=2%", dest="rules", faces=frozenset({PYTEST, CLI}), repeat=True,
            metavar="RULE", parse=_rule),
    Setting("strict", "fail rows that no rule gates, inputs that gate nothing, and every compviz warning.", "",
            flag=True),
    Setting("reference-mode", "the mode of each model's reference row, the uncompressed one every other row is"
            " compared with (default: fp32).", "bf16", metavar="MODE", old=("baseline-mode",)),
    Setting("baseline", "a saved run (compviz.json or a save-baseline file) to compare with: each row"
            " it has gets a regression check.", "baselines/main.json", metavar="JSON"),
    Setting("baseline-missing", "what a missing baseline file does: a usage error (error, the default) or a note"
            " and no regression checks (warn, for the first run of a new branch).", "warn",
            choices=("error", "warn"), metavar="{error,warn}"),
    Setting("regression-tolerance", "the worsening against the baseline a row may show, each part with its unit:"
            " error increase in percentage points, rate decrease in x (default: 0.5%, 0.05x).", "0.5%, 0.05x",
            dest="tolerance", metavar="TOL", parse=_tolerance),
    Setting("save-baseline", "write this run's rows to this file as the next baseline (rows of other inputs and"
            " models already in it are kept); only a run whose gates passed is saved.", "baselines/main.json",
            faces=frozenset({PYTEST, CLI}), metavar="JSON"),
    Setting("fail-on-improvement", "a regression check fails also when its row got better than the baseline beyond"
            " the tolerance (the baseline is out of date).", "", flag=True),
    Setting("table-format", "the layout of the .md tables: nncf-docs (NNCF's README, the default) or nncf-tool"
            " (what NNCF's visualize_compression_results.py writes).", "nncf-tool",
            metavar="FORMAT", ini=True),  # checked by options.resolve, for the ini and [tool.compviz] too
    Setting("image-format", "the plots' image format (default: png).", "svg", dest="image_formats",
            repeat=True, choices=("png", "svg"), metavar="{png,svg}", faces=frozenset({PYTEST, CLI}),
            cli_aliases=("--format",)),
    # The CI loop (docs/ci-loop.md; config.history reads these into one HistoryOptions).
    Setting("history", "append this run to a history of runs kept in this folder (runs.jsonl), for --compviz-compare,"
            " the window gate and the trend plots.", "compviz-history", metavar="DIR"),
    Setting("history-keep", "keep the newest N runs of each configuration in the history (default: 100).", "200",
            dest="history_keep", faces=frozenset({PYTEST, CLI}), metavar="N", parse=_count),
    Setting("compare", "compare with a run from the history instead of a baseline file: the pull request's merge"
            " base (base) or the branch's previous passing run (previous).", "base", choices=("base", "previous"),
            faces=frozenset({PYTEST, CLI}), metavar="{base,previous}"),
    Setting("compare-branch", "the pull request's target branch (default: $GITHUB_BASE_REF, else"
            " $CI_MERGE_REQUEST_TARGET_BRANCH_NAME).", "main", faces=frozenset({PYTEST, CLI}), metavar="BRANCH"),
    Setting("compare-depth", "with compare = base: walk back up to N first-parent ancestors of the merge base to find"
            " a recorded run (default: 20).", "50", faces=frozenset({PYTEST, CLI}), metavar="N", parse=_count),
    Setting("window", "the window gate: a row fails when its error is beyond what its last K passing runs in the"
            " history predict (one-sided 99% prediction interval, with this run's own stderr).", "8",
            faces=frozenset({PYTEST, CLI}), metavar="K", parse=_count),
    Setting("no-step-summary", "do not append the summary to $GITHUB_STEP_SUMMARY.", "", flag=True,
            faces=frozenset({PYTEST, CLI})),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
CONFIG_KEYS = frozenset(s.config_key for s in SETTINGS if CONFIG in s.faces) | {"rules", "metrics"}
OLD_CONFIG_KEYS = {old: s for s in SETTINGS if CONFIG in s.faces for old in s.old}


class _Store(argparse.Action):
    """Stores (or appends) a setting's value, parsed with the option as written, and notes a
    former spelling's use in ``namespace.compviz_deprecated``."""

    def __init__(self, option_strings, dest, setting: Setting, face: str, **kwargs):
        self.setting, self.face = setting, face
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setting = self.setting
        if option_string and option_string not in (setting.flag_of(self.face), *setting.cli_aliases):
            deprecated = list(getattr(namespace, "compviz_deprecated", None) or [])
            deprecated.append(f"{option_string} is deprecated: use {setting.flag_of(self.face)}")
            namespace.compviz_deprecated = deprecated
        if setting.flag:
            setattr(namespace, self.dest, True)
            return
        value = values
        if setting.parse is not None:
            current = getattr(namespace, self.dest, None) or []
            # argparse names the option; a repeated one is numbered as written (--compviz-rule 2)
            source = f"{option_string} {len(current) + 1}" if setting.repeat else repr(values)
            try:
                value = setting.parse(values, source)
            except ValueError as exc:
                raise argparse.ArgumentError(self, str(exc)) from None
        if setting.repeat:
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), value])
        else:
            setattr(namespace, self.dest, value)


def _argument(setting: Setting, face: str) -> tuple[list[str], dict]:
    names = [setting.flag_of(face)]
    if face == CLI:
        names += list(setting.cli_aliases)
    names += [f"--compviz-{old}" if face == PYTEST else f"--{old}" for old in setting.old]
    kwargs: dict = dict(action=_Store, setting=setting, face=face, help=setting.help.replace("%", "%%"),
                        dest=("compviz_" + setting.field) if face == PYTEST else setting.field)
    if setting.flag:
        kwargs.update(nargs=0, default=False)
    else:
        kwargs.update(metavar=setting.metavar, default=[] if setting.repeat else None)
        if setting.choices:
            kwargs["choices"] = setting.choices
    return names, kwargs


def add_pytest_options(parser) -> None:
    """The ``compviz`` option group and ini keys of a ``pytest.Parser``."""
    group = parser.getgroup("compviz", "compression results (pytest-compviz)")
    for setting in SETTINGS:
        if PYTEST in setting.faces:
            names, kwargs = _argument(setting, PYTEST)
            group.addoption(*names, **kwargs)
        if setting.ini:
            parser.addini(setting.ini_name, type="args" if setting.repeat else "string",
                          default=[] if setting.repeat else "",
                          help=f"ini twin of {setting.name} in [tool.compviz]: {setting.help}")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    for setting in SETTINGS:
        if CLI in setting.faces:
            names, kwargs = _argument(setting, CLI)
            parser.add_argument(*names, **kwargs)


def given_values(namespace, face: str) -> dict:
    """The values one face was given, by ``Given`` field (None or () where not given; a repeated
    option's values as a tuple)."""
    prefix = "compviz_" if face == PYTEST else ""
    return {s.field: tuple(getattr(namespace, prefix + s.field)) if s.repeat and not s.flag
            else getattr(namespace, prefix + s.field) for s in SETTINGS if face in s.faces}


def anything_given(namespace) -> bool:
    """Whether a pytest command line set any compviz option: the rule that, with the ini keys and
    a [tool.compviz] table, switches compviz on in a pytest run."""
    return any(getattr(namespace, "compviz_" + s.field, None) for s in SETTINGS if PYTEST in s.faces)


def deprecations(namespace) -> list[str]:
    return list(getattr(namespace, "compviz_deprecated", None) or [])


# --- the reference page -----------------------------------------------------------------------------


def _shell_example(flag: str, setting: Setting) -> str:
    if setting.flag:
        return f"`{flag}`"
    value = f'"{setting.example}"' if any(c in setting.example for c in " ;%,") else setting.example
    return f"`{flag} {value}`"


def reference_markdown() -> str:
    """The settings table of docs/reference.md: one row per setting, an example of each of its
    spellings in each face's column."""
    lines = ["| setting | pytest option | `compviz` flag | `[tool.compviz]` key | pytest ini key | what |",
             "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        pytest_cell = cli_cell = config_cell = ini_cell = ""
        if PYTEST in s.faces:
            pytest_cell = ", ".join(_shell_example(flag, s) for flag in
                                    (s.pytest_flag, *(f"--compviz-{old}" for old in s.old)))
        if CLI in s.faces:
            cli_cell = ", ".join(_shell_example(flag, s) for flag in
                                 (s.cli_flag, *s.cli_aliases, *(f"--{old}" for old in s.old)))
        if CONFIG in s.faces:
            value = "true" if s.flag else (f'["{s.example}"]' if s.repeat else f'"{s.example}"')
            config_cell = ", ".join(f"`{key} = {value}`" for key in (s.config_key, *s.old))
        if s.ini:
            ini_cell = f"`{s.ini_name} = {s.example}`"
        what = s.help.replace("|", "\\|")
        if s.repeat and not s.flag:
            what += " Repeatable."
        if s.old:
            what += " Former name (read with a deprecation warning until the next release): " + \
                ", ".join(f"`{old}`" for old in s.old) + "."
        lines.append(f"| `{s.name}` | {pytest_cell} | {cli_cell} | {config_cell} | {ini_cell} | {what} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- settings table: generated from pytest_compviz/config/settings.py -->", "<!-- end of settings table -->"


def with_reference(page: str) -> str:
    """``page`` (docs/reference.md) with its generated settings table replaced by the current one:
    ``python -m pytest_compviz.config.settings docs/reference.md`` rewrites the file."""
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference_markdown()}{END}{tail}"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1])
    target.write_text(with_reference(target.read_text(encoding="utf-8")), encoding="utf-8")
