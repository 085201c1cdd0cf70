"""The ``compviz`` command: the report without pytest.

    compviz --input-file data/llama2_asym.csv --output-dir out

Exit status: 0 written, 1 some input has invalid data (every problem printed; nothing written
for that input), 2 usage error (bad option, missing or unreadable input).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compviz",
        description="Validate LLM weight-compression results (NNCF CSV layout) and write, per model,"
        " the Markdown table and the accuracy/footprint trade-off plot.",
    )
    parser.add_argument("inputs", nargs="*", metavar="CSV", help="results file(s); same as --input-file")
    parser.add_argument(
        "-i", "--input-file", "--input_file", dest="input_files", action="extend", nargs="+", default=[],
        metavar="CSV", help="results file(s) to report on (repeatable)",
    )
    parser.add_argument(
        "-o", "--output-dir", "--output_dir", dest="output_dir", metavar="DIR",
        help="where to write STEM.md and STEM.png (default: the folder of each input file)",
    )
    parser.add_argument(
        "--baseline-mode", default=None, metavar="MODE",
        help="mode of the uncompressed row each model is compared with (default: fp32)",
    )
    parser.add_argument(
        "--format", dest="formats", action="append", choices=("png", "svg"), metavar="{png,svg}",
        help="plot image format (repeatable; default: png)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    inputs = [*args.inputs, *args.input_files]
    if not inputs:
        parser.error("no input: give a results CSV, e.g. compviz --input-file data/llama2_asym.csv")

    from .problems import InputUnusable, check_input_path

    # Usage problems first: nothing is written when an input is missing, a directory or unreadable.
    for name in inputs:
        try:
            check_input_path(name, name)
        except InputUnusable as exc:
            print(f"compviz: error: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return _report(inputs, args)


def _report(inputs: list[str], args: argparse.Namespace) -> int:
    from .problems import InputUnusable, InvalidResults
    from .report.artifacts import ArtifactClash, ArtifactPlan, render_artifacts, write_artifacts
    from .results import load_results
    from .spec import Settings

    settings = Settings(baseline_mode=args.baseline_mode) if args.baseline_mode else Settings()
    formats = tuple(dict.fromkeys(args.formats or ["png"]))
    status = EXIT_OK
    plan = ArtifactPlan(inputs)
    for name in inputs:
        output_dir = Path(args.output_dir) if args.output_dir else Path(name).parent
        try:
            results = load_results(name, settings)
        except InputUnusable as exc:
            print(f"compviz: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except InvalidResults as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            count = len(exc.problems)
            print(
                f"compviz: {name}: {count} problem{'s' if count != 1 else ''}; nothing written for it",
                file=sys.stderr,
            )
            status = EXIT_INVALID
            continue
        for warning in results.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        artifacts = render_artifacts(results, output_dir, formats)
        try:
            plan.claim(artifacts, name)
        except ArtifactClash as exc:
            print(f"compviz: error: {name}: {exc}; nothing written for it (use another --output-dir)",
                  file=sys.stderr)
            status = EXIT_USAGE
            continue
        try:
            written = write_artifacts(artifacts)
        except OSError as exc:
            print(f"compviz: error: {name}: cannot write to {output_dir} ({exc.strerror or exc})", file=sys.stderr)
            return EXIT_USAGE
        for path in written:
            print(f"wrote {path}")
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
