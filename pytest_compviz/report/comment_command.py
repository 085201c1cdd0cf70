"""``compviz comment`` (write comment.md) and ``compviz comment post`` (put it on the pull request).

    compviz comment --report compviz-report --history .compviz-history -o comment.md
    compviz comment post comment.md --repo OWNER/NAME --pr 12      # token: $GITHUB_TOKEN

Exit status: 0 written / posted; 1 the post failed; 2 usage error (no compviz.json, bad option)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _write_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compviz comment", description="Write comment.md, the verdict of a run for its pull request:"
        " failures first, the delta table against the base, details folded, a Mermaid trend chart, a"
        " hidden marker; under GitHub's 65,536-character limit. 'compviz comment post FILE' posts it.")
    parser.add_argument("--report", default="compviz-report", metavar="DIR",
                        help="the run's output folder, holding compviz.json (default: compviz-report)")
    parser.add_argument("--history", metavar="DIR", help="the history of runs, for the trend chart")
    parser.add_argument("-o", "--output", default="comment.md", metavar="FILE", help="default: comment.md")
    parser.add_argument("--artifact", default="compviz-report", metavar="NAME",
                        help="the name of the uploaded report artifact, as the comment refers to it")
    return parser


def _post_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compviz comment post", description="Create or update the pull request's compviz comment"
        " (the one carrying the marker and written by --author) with FILE; the token is $GITHUB_TOKEN.")
    parser.add_argument("body", metavar="FILE", help="comment.md written by compviz comment")
    parser.add_argument("--repo", default=os.environ.get("GITHUB_REPOSITORY"), metavar="OWNER/NAME",
                        help="default: $GITHUB_REPOSITORY")
    parser.add_argument("--pr", required=True, type=int, metavar="NUMBER", help="the pull request's number")
    parser.add_argument("--api", default=os.environ.get("GITHUB_API_URL", "https://api.github.com"), metavar="URL",
                        help="default: $GITHUB_API_URL, else https://api.github.com")
    parser.add_argument("--author", default="github-actions[bot]", metavar="LOGIN",
                        help="who wrote the comment to update: the token's user (default: github-actions[bot])")
    return parser


def comment_main(argv: list[str]) -> int:
    if argv[:1] == ["post"]:
        return _post(_post_parser().parse_args(argv[1:]))
    args = _write_parser().parse_args(argv)
    from ..atomic import atomic_write
    from ..history.store import HistoryError, read_history
    from .comment import comment_markdown

    report = Path(args.report) / "compviz.json"
    from ..baseline.document import NotARunDocument, read_run_document

    try:
        document = read_run_document(report)
    except FileNotFoundError:
        print(f"compviz comment: error: {report}: no such file (run the gates first)", file=sys.stderr)
        return EXIT_USAGE
    except NotARunDocument as exc:
        print(f"compviz comment: error: {report}: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    records = None
    if args.history:
        try:
            records = read_history(Path(args.history), args.history)
        except HistoryError as exc:
            print(f"compviz comment: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        text = comment_markdown(document, records, args.artifact)
    except HistoryError as exc:  # a record whose rows are damaged (they are decoded as used)
        print(f"compviz comment: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        atomic_write(Path(args.output), text.encode("utf-8"))
    except OSError as exc:
        print(f"compviz comment: error: {args.output} not written ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {args.output} ({len(text):,} characters)", file=sys.stderr)
    return EXIT_OK


def _post(args: argparse.Namespace) -> int:
    from .post import PostError, check_body, post_comment

    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        print("compviz comment post: error: $GITHUB_TOKEN is not set", file=sys.stderr)
        return EXIT_USAGE
    if not args.repo or args.repo.count("/") != 1:
        print(f"compviz comment post: error: --repo must be OWNER/NAME, not {args.repo!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        body = Path(args.body).read_text(encoding="utf-8")
        check_body(body, args.body)
    except OSError as exc:
        print(f"compviz comment post: error: {args.body}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except PostError as exc:
        print(f"compviz comment post: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        done = post_comment(body, api=args.api, repo=args.repo, number=args.pr, token=token, author=args.author)
    except PostError as exc:
        print(f"compviz comment post: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"compviz comment post: {done}", file=sys.stderr)
    return EXIT_OK
