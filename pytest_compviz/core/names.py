"""Names fit for one-line messages, ids and file names."""

from __future__ import annotations

import hashlib

LONGEST_NAME = 100


def short(text: str) -> str:
    """A name fit for a test id and a one-line message: whitespace runs (newlines from quoted
    cells) become one space, control characters are dropped (JUnit XML cannot carry them); a very
    long name is cut, with a digest of the whole so that two long names sharing a start stay
    apart and each stays the same from run to run."""
    text = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
    if len(text) <= LONGEST_NAME:
        return text
    return f"{text[:80]}…#{digest(text)}"


def configuration_name(mode: str, plot_name: str) -> str:
    """A row's configuration as people read it: ``mode (plot name)``, or the mode alone."""
    return short(f"{mode} ({plot_name})" if plot_name else mode)


def row_label(model: str, mode: str, plot_name: str, with_model: bool) -> str:
    """A row in messages, summaries and comments: ``model: mode (plot name)`` where the file holds
    several models (``with_model``), else the configuration alone."""
    name = configuration_name(mode, plot_name)
    return f"{short(model)}: {name}" if with_model else name


def short_commit(commit: str | None) -> str:
    """A commit in one-line messages: its first 10 hex digits."""
    return commit[:10] if commit else "(no commit)"


def digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]
