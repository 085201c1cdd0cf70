"""The ``[tool.compviz]`` table of pyproject.toml (or of a file given with ``--compviz-config``).

    [tool.compviz]
    inputs = ["data/llama2_asym.csv"]   # collected when pytest is given no path
    files = ["results/*.csv"]           # CSVs collected from the test paths
    output-dir = "compviz-report"
    reference-mode = "fp32"
    strict = false
    baseline = "baselines/main.json"     # a saved run to compare with (--compviz-baseline)
    regression-tolerance = "0.5%, 0.05x"
    table-format = "nncf-docs"          # or "nncf-tool": the .md tables as NNCF's tool writes them
    fail-on-improvement = false          # a row better than the baseline beyond the tolerance fails
    history = ".compviz-history"          # a history of runs (--compviz-history; see docs/ci-loop.md)
    [[tool.compviz.rules]]               # see rules.py
    [[tool.compviz.metrics]]             # replaces the four NNCF metrics
    column = "mmlu, acc"
    direction = "higher"                 # higher | lower | similarity
    min = 0.0
    max = 1.0
    lm-eval = "mmlu/acc"                 # where a manifest's lm-eval results keep it (task/metric[,filter])

No heavy imports: read at pytest start-up.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..problems import CompvizError
from .rules import Rule, parse_rule
from ..spec import Metric, parse_lm_eval_spec

from .settings import CONFIG_KEYS, OLD_CONFIG_KEYS, SETTINGS, CONFIG

# [tool.compviz] keys are the settings table's (``settings.SETTINGS``), plus rules and metrics.
_KEYS = CONFIG_KEYS
_METRIC_KEYS = {"column", "direction", "min", "max", "positive", "lm-eval"}


class ConfigError(CompvizError):
    """The configuration file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FileConfig:
    path: Path | None = None
    inputs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    output_dir: str | None = None
    reference_mode: str | None = None
    strict: bool | None = None
    rules: tuple[Rule, ...] = ()
    metrics: tuple[Metric, ...] | None = None
    baseline: str | None = None
    baseline_missing: str | None = None
    tolerance: str | None = None  # regression-tolerance, as written
    table_format: str | None = None
    fail_on_improvement: bool | None = None
    history: str | None = None  # the CI loop's history folder (config.history)
    root: Path = field(default_factory=Path.cwd)  # relative paths in the file are relative to this
    deprecations: tuple[str, ...] = ()  # former key names this file used


def load_config(path: Path, *, whole_file_is_table: bool = False) -> FileConfig:
    """``[tool.compviz]`` of ``path``; with ``whole_file_is_table`` a file without that table is
    read as the table itself (a dedicated ``compviz.toml``)."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML ({exc})") from None
    tool = document.get("tool", {})
    table = tool.get("compviz") if isinstance(tool, dict) else None
    if table is None:
        if not whole_file_is_table:
            return FileConfig(root=path.parent)  # a pyproject.toml that configures nothing
        table = document
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: tool.compviz must be a table ([tool.compviz]), not {table!r}")
    return parse_config(table, path)


def parse_config(table: dict, path: Path) -> FileConfig:
    name = path.name
    deprecations = []
    table = dict(table)
    for old, setting in OLD_CONFIG_KEYS.items():
        if old in table:
            if setting.name in table:
                raise ConfigError(f"{path}: [tool.compviz]: {old} and {setting.name} are one setting; keep"
                                  f" {setting.name}")
            deprecations.append(f"{path}: [tool.compviz]: {old} is deprecated: use {setting.name}")
            table[setting.name] = table.pop(old)
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(
            f"{path}: [tool.compviz]: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    rules_table = table.get("rules", [])
    if not isinstance(rules_table, list):
        raise ConfigError(f"{path}: [tool.compviz]: rules must be an array of tables ([[tool.compviz.rules]])")
    rules = tuple(parse_rule(rule, f"rule {n}, {name}") for n, rule in enumerate(rules_table, start=1))
    metrics = None
    if "metrics" in table:
        if not isinstance(table["metrics"], list):
            raise ConfigError(f"{path}: [tool.compviz]: metrics must be an array of tables ([[tool.compviz.metrics]])")
        metrics = tuple(metric_from_table(entry, f"metric {n}, {name}") for n, entry in enumerate(table["metrics"], start=1))
        if not metrics:
            raise ConfigError(f"{path}: [tool.compviz]: metrics is empty; leave it out for the NNCF default")
    values: dict = {}
    for setting in SETTINGS:
        if CONFIG not in setting.faces:
            continue
        key = setting.config_key
        if key not in table:
            continue
        if setting.flag:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{path}: [tool.compviz]: {key} must be true or false, not {table[key]!r}")
            values[setting.field] = table[key]
        elif setting.repeat:
            values[setting.field] = tuple(_strings(table, key, path))
        else:
            values[setting.field] = _string(table, key, path)
    return FileConfig(path=path, rules=rules, metrics=metrics, root=path.parent, deprecations=tuple(deprecations),
                      **values)


def metric_from_table(entry, source: str) -> Metric:
    if not isinstance(entry, dict) or "column" not in entry or "direction" not in entry:
        raise ConfigError(f"{source}: needs column and direction, e.g. {{column = \"mmlu, acc\", direction = \"higher\"}}")
    unknown = set(entry) - _METRIC_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_METRIC_KEYS))})")
    lm_eval = entry.get("lm-eval")
    if lm_eval is not None and not isinstance(lm_eval, str):
        raise ConfigError(f"{source}: lm-eval must be a string such as \"mmlu/acc\", not {lm_eval!r}")
    try:
        return Metric(
            str(entry["column"]), entry["direction"], minimum=_optional_float(entry, "min", source),
            maximum=_optional_float(entry, "max", source), positive=bool(entry.get("positive", False)),
            lm_eval=parse_lm_eval_spec(lm_eval) if lm_eval is not None else None,
        )
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _optional_float(entry: dict, key: str, source: str) -> float | None:
    if key not in entry:
        return None
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: {key} must be a number, not {value!r}")
    return float(value)


def _strings(table: dict, key: str, path: Path) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [tool.compviz]: {key} must be a list of paths, not {value!r}")
    return value


def _string(table: dict, key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: [tool.compviz]: {key} must be a string, not {value!r}")
    return value


def has_compviz_table(pyproject: Path) -> bool:
    """Whether ``pyproject`` holds a ``[tool.compviz]`` table (cheap: a text search first, so a
    project without it pays no TOML parse; each file is parsed once per change)."""
    try:
        stat = pyproject.stat()
    except OSError:
        return False
    key = (str(pyproject), stat.st_mtime_ns, stat.st_size)
    if key not in _HAS_TABLE:
        if len(_HAS_TABLE) > 64:  # a long-lived process with many projects: stay small
            _HAS_TABLE.clear()
        _HAS_TABLE[key] = _has_table(pyproject)
    return _HAS_TABLE[key]


_HAS_TABLE: dict[tuple, bool] = {}


def _has_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if "compviz" not in text:
        return False
    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return "tool.compviz" in text  # a broken file that means to configure us: let load_config say why
    return isinstance(tool, dict) and "compviz" in tool


def find_config_file(invocation: Path, rootdir: Path) -> Path | None:
    """The first ``pyproject.toml`` holding a ``[tool.compviz]`` table, from ``invocation`` upwards,
    stopping at the folder that holds ``.git`` (or the filesystem root); else the rootdir's
    ``pyproject.toml`` if there is one (it may hold no table: then nothing is configured)."""
    folder = invocation.resolve()
    while True:
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and has_compviz_table(candidate):
            return candidate
        if (folder / ".git").exists() or folder.parent == folder:
            break
        folder = folder.parent
    fallback = rootdir / "pyproject.toml"
    return fallback if fallback.is_file() else None


def read_file_config(given: str | None, invocation: Path, rootdir: Path, option: str) -> FileConfig:
    """``given`` (a TOML file, ``option`` names it in messages) if set, else the discovered one
    (``find_config_file``); an empty ``FileConfig`` when there is none. Raises ``ConfigError``."""
    if given:
        path = invocation / given
        if not path.exists():
            raise ConfigError(f"{option} {given}: no such file")
        if path.is_dir():
            raise ConfigError(f"{option} {given}: is a directory, expected a TOML file")
        return load_config(path, whole_file_is_table=True)
    found = find_config_file(invocation, rootdir)
    return load_config(found) if found is not None else FileConfig(root=rootdir)
