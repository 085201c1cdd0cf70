"""Posting ``comment.md`` on a pull request (GitHub REST) so that a run updates its own comment:
the comment that carries the marker and was written by this token's user is edited, else one is
created. Run where the token may write (a ``workflow_run`` job) and never on the pull request's
code: the body is checked to be a compviz comment and within the limit before it is sent."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ..problems import CompvizError
from .comment import LIMIT, MARKER


class PostError(CompvizError):
    """The comment could not be posted; the message says which request failed."""


def check_body(body: str, shown: str) -> None:
    if not body.startswith(MARKER):
        raise PostError(f"{shown}: is not a pytest-compviz comment (it does not start with {MARKER})")
    if len(body) > LIMIT:
        raise PostError(f"{shown}: {len(body):,} characters, over GitHub's {LIMIT:,}-character limit")


def _request(method: str, url: str, token: str, payload: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "pytest-compviz",
        **({"Content-Type": "application/json"} if data is not None else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise PostError(f"{method} {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PostError(f"{method} {url}: {getattr(exc, 'reason', exc)}") from None


def post_comment(body: str, *, api: str, repo: str, number: int, token: str, author: str) -> str:
    """Create or update the pull request's comment; returns ``created URL`` or ``updated URL``."""
    base = f"{api.rstrip('/')}/repos/{repo}/issues"
    page = 1
    while True:
        found = _request("GET", f"{base}/{number}/comments?per_page=100&page={page}", token)
        if not isinstance(found, list):
            raise PostError(f"GET {base}/{number}/comments: not a list of comments")
        for comment in found:
            if MARKER in (comment.get("body") or "") and (comment.get("user") or {}).get("login") == author:
                done = _request("PATCH", f"{base}/comments/{comment['id']}", token, {"body": body})
                return f"updated {done.get('html_url', comment['id'])}"
        if len(found) < 100:
            break
        page += 1
    done = _request("POST", f"{base}/{number}/comments", token, {"body": body})
    return f"created {done.get('html_url', '')}"
