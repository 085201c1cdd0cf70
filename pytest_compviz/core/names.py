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


def digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]
