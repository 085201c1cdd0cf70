"""The settings table (config/settings.py) is the one declaration of every setting: the faces'
options, the [tool.compviz] keys, the ini keys, the rule that switches compviz on and the docs'
reference page all come from it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from pytest_compviz.cli import build_parser
from pytest_compviz.config.settings import CLI, CONFIG, PYTEST, SETTINGS, reference_markdown, with_reference

ROOT = Path(__file__).resolve().parents[1]


def test_the_reference_page_holds_the_table_generated_from_the_settings():
    page = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert reference_markdown() in page
    assert with_reference(page) == page, "regenerate: python -m pytest_compviz.config.settings docs/reference.md"


def test_every_setting_has_an_example_on_each_of_its_faces():
    page = reference_markdown()
    for setting in SETTINGS:
        assert setting.flag or setting.example, setting.name
        if PYTEST in setting.faces:
            assert f"`{setting.pytest_flag}" in page
        if CLI in setting.faces:
            assert f"`{setting.cli_flag}" in page
        if CONFIG in setting.faces:
            assert f"`{setting.config_key} = " in page


def test_the_faces_help_lists_every_setting_of_the_face(pytester):
    result = pytester.runpytest_inprocess("--help")
    for setting in SETTINGS:
        if PYTEST in setting.faces:
            assert setting.pytest_flag in result.stdout.str(), setting.name
        if setting.ini:
            assert setting.ini_name in result.stdout.str(), setting.name
    cli_help = build_parser().format_help()
    for setting in SETTINGS:
        if CLI in setting.faces:
            assert setting.cli_flag in cli_help, setting.name


@pytest.mark.parametrize("setting", [s for s in SETTINGS if PYTEST in s.faces], ids=lambda s: s.name)
def test_any_compviz_option_switches_compviz_on(pytester, setting):
    """No hand-kept list: every option of the table, given alone, makes the run involve compviz
    (it reads the configuration and says so in the header); no option, no compviz."""
    from pytest_compviz.plugin import _compviz_requested

    args = [setting.pytest_flag] if setting.flag else [setting.pytest_flag, setting.example]
    if setting.name == "rule":
        args = [setting.pytest_flag, "max-relative-error=9%"]
    config = pytester.parseconfig(*args)
    assert _compviz_requested(config)
    assert not _compviz_requested(pytester.parseconfig())


def test_ini_keys_switch_compviz_on(pytester):
    from pytest_compviz.plugin import _compviz_requested

    for setting in SETTINGS:
        if setting.ini:
            pytester.makeini(f"[pytest]\n{setting.ini_name} = {setting.example}\n")
            assert _compviz_requested(pytester.parseconfig()), setting.name


def test_a_former_option_name_still_works_with_a_deprecation_warning(pytester, llama2_csv, heavy_modules_loaded):
    pytester.makepyprojecttoml("[tool.compviz]\n")
    (pytester.path / "r.csv").write_bytes(llama2_csv.read_bytes())
    result = pytester.runpytest_inprocess("r.csv", "--compviz-baseline-mode", "zz", "-p", "no:cacheprovider",
                                          "--compviz-output-dir", "out")
    # The former name is applied, not dropped: a reference mode no row has fails the schema item.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*'zz'*", "*CompvizDeprecationWarning: --compviz-baseline-mode is deprecated:"
                                 " use --compviz-reference-mode*"])


def test_a_former_config_key_still_works_with_a_deprecation_warning_and_both_are_refused(tmp_path):
    from pytest_compviz.config.files import ConfigError, load_config

    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.compviz]\nbaseline-mode = "bf16"\n')
    loaded = load_config(config)
    assert loaded.reference_mode == "bf16"
    assert loaded.deprecations == (f"{config}: [tool.compviz]: baseline-mode is deprecated: use reference-mode",)
    config.write_text('[tool.compviz]\nbaseline-mode = "bf16"\nreference-mode = "fp32"\n')
    with pytest.raises(ConfigError, match="baseline-mode and reference-mode are one setting; keep reference-mode"):
        load_config(config)


def test_compviz_warns_about_a_former_flag(tmp_path, llama2_csv, capsys, monkeypatch, heavy_modules_loaded):
    from pytest_compviz.cli import main

    monkeypatch.chdir(tmp_path)
    code = main([str(llama2_csv), "--baseline-mode", "fp32", "-o", "out", "--no-step-summary"])
    assert code == 0
    assert "compviz: warning: --baseline-mode is deprecated: use --reference-mode" in capsys.readouterr().err


def test_a_bad_value_names_the_option_as_written(pytester):
    result = pytester.runpytest_inprocess("--compviz-rule", "mode=int8; max-relative-error=9%",
                                          "--compviz-rule", "mode=int4; bogus=1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--compviz-rule 2 'mode=int4; bogus=1': unknown key 'bogus'*"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--rule", "mode=int4; max-relative-error=zz"])
