"""The ``compviz`` command: the same run as ``pytest --compviz-input``, without pytest.

    compviz --input-file data/llama2_asym.csv --output-dir out

It reads the same configuration (``[tool.compviz]`` found as the plugin finds it, or
``--config FILE``), runs each input through the same pipeline, fills the same ledger (every
check runs) and writes the same outputs.

Exit status: 0 every gate passed; 1 a gate, a regression or an input failed, or an output could
not be written; 2 usage error (bad option, missing input, unusable configuration or baseline).

    compviz assemble sweep.csv -o results.csv

writes the plain results CSV a manifest describes (see ``core.manifest``), validated first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C

_EPILOG = """exit status:
  0  every gate passed (and every output was written)
  1  a gate, a regression or an input failed, or an output could not be written
  2  usage error: a bad option, a missing input, an unusable configuration or baseline
  130  interrupted (Ctrl-C): summary.md and compviz.json say the run did not finish, or was
       interrupted

compviz assemble MANIFEST -o results.csv: the plain results CSV of a sweep manifest (see
compviz assemble --help).

compviz comment: comment.md for a pull request from a run's compviz.json and its history; compviz
comment post: create or update that comment on GitHub (see compviz comment --help).

Hooks in a conftest.py (pytest_compviz_rules, pytest_compviz_metrics) are pytest's: compviz does
not run them; use pytest --compviz-input to apply them."""


class NoInput(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .config.settings import add_cli_arguments

    parser = argparse.ArgumentParser(
        prog="compviz",
        description="Validate and gate LLM weight-compression results (NNCF CSV layout) and write, per"
        " model, the Markdown table and the accuracy/footprint trade-off plot, plus summary.md and"
        " compviz.json.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("positional_inputs", nargs="*", metavar="CSV", help="results file(s); same as --input")
    add_cli_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list the files each manifest row was assembled from")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # One line, not a traceback. Whatever was written says so (see report.outputs.mark_started).
        print("compviz: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["assemble"]:
        return assemble_main(argv[1:])
    if argv[:1] == ["comment"]:
        from .report.comment_command import comment_main

        return comment_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    from .problems import CompvizError

    try:
        return _run(args)
    except NoInput as exc:
        parser.error(str(exc))  # exits 2, with the usage
    except CompvizError as exc:
        print(f"compviz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    from .config.files import read_file_config
    from .config.options import given_from, resolve, with_glob_inputs
    from .config.settings import CLI
    from .problems import InputUnusable, check_input_path

    invocation = Path.cwd()
    file_config = read_file_config(args.config, invocation, invocation, "--config")
    given = given_from(args, CLI, tuple(args.positional_inputs))
    options = resolve(given=given, file_config=file_config, invocation=invocation, rootdir=invocation)
    for text in options.deprecations:
        print(f"compviz: warning: {text}", file=sys.stderr)
    if not given.inputs and options.file_globs:
        options = with_glob_inputs(options)
    if not options.inputs:
        raise NoInput("no input: give a results CSV, e.g. compviz --input-file data/llama2_asym.csv,"
                      " or list inputs (or files globs that match a CSV) in [tool.compviz]")
    # Usage problems first: nothing is written when an input is missing, a directory or unreadable.
    for path, name in zip(options.inputs, options.input_names):
        try:
            check_input_path(path, name)
        except InputUnusable as exc:
            print(f"compviz: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    hooks = _unapplied_hooks(options)
    if hooks:
        print(f"compviz: {hooks} implements pytest_compviz hooks: they are pytest's, so their rules and"
              " metrics are not applied here (pytest --compviz-input applies them)", file=sys.stderr)
    return _report(options, args.verbose)


def _report(options, verbose: bool = False) -> int:
    from .core.ledger import FAILED, SCHEMA, XFAILED, Ledger, Outcome, fill_from_gates
    from .core.messages import check_message
    from .core.pipeline import baseline_problems, run_file, run_warnings, strict_failures
    from .report.console import run_lines
    from .report.outputs import mark_started, write_run

    from .history.reference import run_reference

    baseline, window, notes = run_reference(options)
    mark_started(options)  # until the record is written, the folder says the run did not finish
    runs = [run_file(path, options, baseline, shown=name, window=window)
            for path, name in zip(options.inputs, options.input_names)]
    ledger = Ledger()
    for run in runs:
        if run.valid:
            fill_from_gates(ledger, run.key, run.gates)
        else:
            ledger.record(run.key, None, SCHEMA, FAILED)
            for problem in run.problems:
                print(problem, file=sys.stderr)
            count = len(run.problems)
            print(f"compviz: {run.shown}: {count} problem{'s' if count != 1 else ''}; nothing written for it",
                  file=sys.stderr)
    errors = baseline_problems(runs, baseline)
    for run in runs:
        found = run_warnings(run, baseline)
        errors += strict_failures(found, options.strict, "--strict")
        for text, _ in [] if options.strict else found:
            print(f"warning: {text}", file=sys.stderr)
        if not run.valid:
            continue
        assert run.gates is not None  # a valid run has its gates (core.pipeline.run_file sets both)
        for row in run.gates.rows:
            for check in row.check_names():
                status = row.expected_status(check)
                if status == XFAILED:
                    print(f"XFAIL {run.shown}: {check} of {row.label} - {row.xfail_reason(check)}")
                if status == FAILED:
                    message = check_message(row, check, baseline.describe() if baseline else "")
                    message = message.removeprefix(f"{row.label}: ")  # the row is named once, before
                    print(f"FAILED {run.shown}: {check} of {row.label}: {message}")
    outputs = write_run(runs, ledger, options, baseline, notes, errors)
    for line in run_lines(outputs, options, baseline, options.rules, verbose=verbose):
        print(line)
    if outputs.interrupted:
        print("compviz: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    failed = outputs.errors or outputs.outcome != Outcome.PASSED
    return EXIT_FAILED if failed else EXIT_OK


# --- compviz assemble ----------------------------------------------------------------------------


def build_assemble_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compviz assemble",
        description="Write the plain results CSV a sweep manifest describes: each row's lm-eval results,"
        " WWB metrics and model size read from the files it names (columns lm-eval, wwb, model path),"
        " with <metric> stderr columns where the sources give standard errors. The table is validated"
        " first; nothing is written when it is invalid.",
        epilog="exit status:\n  0  written\n  1  the manifest or a file it names is invalid (every problem"
        " printed)\n  2  usage error", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="the sweep manifest (a CSV with source columns)")
    parser.add_argument("-o", "--output", metavar="CSV", help="the results CSV to write (default: standard output); never the manifest or a file it names; a symlink is written through, a FIFO or device refused")
    parser.add_argument("--config", metavar="TOML", help="read [tool.compviz] (its metrics) from this file")
    return parser


def assemble_main(argv: list[str]) -> int:
    args = build_assemble_parser().parse_args(argv)
    from .atomic import atomic_write, write_target
    from .config.files import read_file_config
    from .config.options import Given, resolve
    from .core.manifest import to_csv
    from .core.reader import read_results
    from .core.results import assemble_results, is_manifest
    from .core.schema import validate
    from .problems import CompvizError, InvalidResults
    from .spec import SOURCE_COLUMNS

    invocation = Path.cwd()
    manifest = invocation / args.manifest
    try:
        file_config = read_file_config(args.config, invocation, invocation, "--config")
        options = resolve(given=Given(), file_config=file_config, invocation=invocation, rootdir=invocation)
        if args.output and Path(invocation / args.output).resolve() == manifest.resolve():
            raise CompvizError(f"{args.output}: is the manifest itself; name another file")
        if args.output:  # a link is written through; a FIFO or a device is never replaced
            try:
                write_target(invocation / args.output)
            except OSError as exc:
                raise CompvizError(f"{args.output}: {exc.strerror}") from None
        raw = read_results(manifest, args.manifest)
        if not is_manifest(raw.frame.columns):
            raise CompvizError(f"{args.manifest}: is not a manifest: its header has none of the source"
                               f" columns {', '.join(SOURCE_COLUMNS)}")
        assembled = assemble_results(raw, manifest, options.settings)
        if args.output:  # nor one of the files it was just assembled from
            target = (invocation / args.output).resolve()
            for index, files in assembled.sources.items():
                for kind, file, _ in files:
                    if (manifest.parent / file).resolve() == target:
                        raise CompvizError(f"{args.output}: is a source of the manifest (line"
                                           f" {raw.line_of(index)}, {kind}); name another file")
        validate(assembled.raw, options.settings)
    except InvalidResults as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"compviz assemble: {args.manifest}: {count} problem{'s' if count != 1 else ''}; nothing written",
              file=sys.stderr)
        return EXIT_FAILED
    except CompvizError as exc:
        print(f"compviz assemble: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in assembled.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    text = to_csv(assembled)
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        atomic_write(invocation / args.output, text.encode("utf-8"))
    except OSError as exc:
        print(f"compviz assemble: error: {args.output} not written ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_FAILED
    files = sum(len(files) for files in assembled.sources.values())
    print(f"wrote {args.output}: {len(assembled.raw.frame)} rows from {files} source files", file=sys.stderr)
    return EXIT_OK


def _unapplied_hooks(options) -> str | None:
    """A conftest.py implementing a compviz hook that pytest would load for these inputs: in the
    configuration's folder, or in an input's folder or a folder above it (up to the current one)."""
    from .config.conftests import folders_up, implements_compviz_hook

    folders = [options.config_file.parent if options.config_file is not None else options.invocation]
    for path in options.inputs:
        folders += folders_up(path.parent, options.invocation)
    return next((options.shown(folder / "conftest.py") for folder in dict.fromkeys(folders)
                 if implements_compviz_hook(folder / "conftest.py")), None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
