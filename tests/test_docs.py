"""The README and the docs site against the code: the Quick start commands are the ones CI runs and
print what the docs show; the configuration reference names every pytest option, ini key,
[tool.compviz] key, metric key, rule key and compviz flag, each with an example; and no page names
an option that does not exist. (The site's links and anchors are checked by `mkdocs build
--strict` in .ci/run.)"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import NO_CACHE

from pytest_compviz.cli import build_assemble_parser, build_parser
from pytest_compviz.config.files import ConfigError, metric_from_table, parse_config
from pytest_compviz.config.rules import RuleError, parse_rule

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = (DOCS / "reference.md").read_text(encoding="utf-8")
CI_RUN = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

MAIN_JOB = ("python3 -m venv .venv && .venv/bin/pip install -e . && "
            ".venv/bin/pytest --compviz-input data/llama2_asym.csv")
TEST_JOB = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest -n 2"


def pages() -> dict[str, str]:
    """Every user-facing Markdown text: the README and the site's pages."""
    found = {"README.md": README}
    found.update({f"docs/{p.name}": p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))})
    return found


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


# --- README: small, and its Quick start is what CI runs ------------------------------------------


def test_readme_is_at_most_8_kb():
    assert len(README.encode("utf-8")) <= 8 * 1024


def test_readme_quick_start_commands_stay_exactly_as_written():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert [block.strip() for block in code_blocks(quick_start)][:2] == [MAIN_JOB, TEST_JOB]


@pytest.mark.parametrize("command, extra", [(MAIN_JOB, None), (TEST_JOB, "test")])
def test_ci_runs_each_quick_start_command(command, extra):
    """.ci/run installs at least the README's extra and runs pytest with at least its arguments."""
    setup, _, job = command.rpartition(" && ")
    assert job.startswith(".venv/bin/pytest ")
    wanted = shlex.split(job)[1:]
    ci_jobs = [shlex.split(line)[1:] for line in CI_RUN.splitlines() if line.startswith(".ci-venv/bin/pytest ")]
    assert any(all(arg in ci_args for arg in wanted) for ci_args in ci_jobs), (wanted, ci_jobs)
    install = re.search(r"^\.ci-venv/bin/pip install --quiet -e '\.\[([a-z,]+)\]'$", CI_RUN, flags=re.M)
    assert install is not None and ("pip install -e " in setup)
    if extra is not None:
        assert extra in install.group(1).split(",")


def test_main_job_prints_what_getting_started_shows(pytester: pytest.Pytester):
    """The README's main job, with the repository's own [tool.compviz] and demo data, prints the
    lines docs/getting-started.md quotes (the run's time aside)."""
    lines = (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index("[tool.compviz]")
    end = next((n for n in range(start + 1, len(lines))
                if lines[n].startswith("[") and "tool.compviz" not in lines[n]), len(lines))
    pytester.makefile(".toml", pyproject="\n".join(lines[start:end]))
    (pytester.path / "data").mkdir()
    shutil.copy(ROOT / "data" / "llama2_asym.csv", pytester.path / "data")

    result = pytester.runpytest("--compviz-input", "data/llama2_asym.csv", *NO_CACHE)

    assert result.ret == pytest.ExitCode.OK
    getting_started = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    shown = next(block for block in code_blocks(getting_started) if "27 gates passed" in block)
    expected = [re.sub(r"in [0-9.]+s", "in *s", line) for line in shown.splitlines() if line.strip()]
    assert expected[-1].endswith("28 passed in *s ==============================")
    result.stdout.fnmatch_lines(expected)
    result.stdout.fnmatch_lines(["compviz: 3 rules from pyproject.toml"])
    assert (pytester.path / "compviz-report" / "llama2_asym.md").read_bytes() == \
        (DOCS / "llama2_asym.md").read_bytes()


# --- the configuration reference names every setting, each with an example ---------------------


def _pytest_names(pytester: pytest.Pytester) -> tuple[dict[str, bool], list[str]]:
    """The plugin's options (name -> takes a value) and ini keys, from a real ``pytest --help``."""
    result = pytester.runpytest("--help", *NO_CACHE)
    text = result.stdout.str()
    options = {}
    for line in re.findall(r"^  (--compviz-.*?)(?:  |$)", text, re.M):  # every spelling on an option's line
        options.update({m.group(1): bool(m.group(2)) for m in re.finditer(r"(--compviz-[a-z-]+)(=\S+)?", line)})
    ini = re.findall(r"^  (compviz_[a-z_]+) \(", text, re.M)
    return options, ini


def _known(error, call) -> list[str]:
    with pytest.raises(error) as info:
        call()
    return info.value.args[0].split("(known: ", 1)[1].rstrip(")").split(", ")


def _flags(parser) -> dict[str, bool]:
    """A parser's option strings -> whether the option takes a value."""
    return {flag: action.nargs != 0 for action in parser._actions for flag in action.option_strings}


def _has_example(flag: str, takes_value: bool) -> bool:
    """A code span of the reference uses the flag (with a value, when it takes one)."""
    for span in code_spans(REFERENCE):
        words = span.split()
        for n, word in enumerate(words):
            if word.startswith(flag + "=") or word == flag and (not takes_value or n + 1 < len(words)):
                return True
    return False


def _has_key_example(key: str) -> bool:
    """A code span of the reference sets the key: ``key = value``."""
    return any(span.startswith(key + " = ") for span in code_spans(REFERENCE))


def test_reference_shows_every_pytest_option_and_ini_key_with_an_example(pytester: pytest.Pytester):
    options, ini = _pytest_names(pytester)
    assert len(options) >= 13 and len(ini) >= 4  # the help was read
    assert [name for name, takes_value in options.items() if not _has_example(name, takes_value)] == []
    assert [name for name in ini if not _has_key_example(name)] == []


def test_reference_shows_every_compviz_flag_with_an_example():
    flags = {**_flags(build_parser()), **_flags(build_assemble_parser())}
    assert {"--input-file", "--output-dir", "--rule", "--format", "--output"} <= set(flags)
    missing = [flag for flag, takes_value in flags.items()
               if flag not in ("-h", "--help", "--version") and not _has_example(flag, takes_value)]
    assert missing == []
    for flag in ("-h", "--help", "--version"):
        assert f"`{flag}`" in REFERENCE


def test_reference_shows_every_config_metric_and_rule_key_with_an_example():
    config_keys = _known(ConfigError, lambda: parse_config({"no such key": 1}, Path("pyproject.toml")))
    metric_keys = _known(ConfigError, lambda: metric_from_table(
        {"column": "c", "direction": "higher", "no such key": 1}, "metric 1"))
    rule_keys = _known(RuleError, lambda: parse_rule({"no such key": 1}, "rule 1"))
    assert "output-dir" in config_keys and "lm-eval" in metric_keys and "pareto" in rule_keys
    # rules and metrics are arrays of tables: their keys have tables of their own below
    assert [key for key in config_keys if key not in ("rules", "metrics") and not _has_key_example(key)] == []
    assert "`[[tool.compviz.rules]]`" in REFERENCE and "`[[tool.compviz.metrics]]`" in REFERENCE
    assert [key for key in metric_keys if not _has_key_example(key)] == []
    spans = code_spans(REFERENCE)
    for key in rule_keys:
        toml = f'"{key[:4]}' if key.endswith(":COLUMN") else f"{key} = "
        command = key[:4] if key.endswith(":COLUMN") else f"{key}="
        assert f"| `{key}` |" in REFERENCE, key
        assert any(span.startswith(toml) for span in spans), key
        if key != "metrics":  # the command line has min:COLUMN / max:COLUMN instead
            assert any(span.startswith("--compviz-rule ") and (f'"{command}' in span or f"; {command}" in span)
                       for span in spans), key


# --- no page names an option that does not exist --------------------------------------------------


def test_pages_name_only_pytest_options_and_ini_keys_that_exist(pytester: pytest.Pytester):
    options, ini = _pytest_names(pytester)
    for page, text in pages().items():
        named = set(re.findall(r"(?<![\w-])--compviz-[a-z]+(?:-[a-z]+)*", text))
        assert named <= set(options), (page, named - set(options))
        named_ini = set(re.findall(r"(?<![\w-])compviz_[a-z]+(?:_[a-z]+)*", text))
        assert named_ini <= set(ini), (page, named_ini - set(ini))


def test_pages_show_compviz_commands_with_flags_that_exist():
    flags, assemble_flags = set(_flags(build_parser())), set(_flags(build_assemble_parser()))
    shown = 0
    for page, text in pages().items():
        for block in code_blocks(text):
            for line in block.splitlines():
                line = line.removeprefix("$ ").split("#", 1)[0].strip()
                if not line.startswith("compviz "):
                    continue
                words = shlex.split(line)
                known = assemble_flags if words[1:2] == ["assemble"] else flags
                unknown = [w.split("=", 1)[0] for w in words if w.startswith("-") and w.split("=", 1)[0] not in known]
                assert unknown == [], (page, line)
                shown += 1
    assert shown >= 10
