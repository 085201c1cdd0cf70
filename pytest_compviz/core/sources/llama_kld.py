"""llama.cpp's ``llama-perplexity --kl-divergence`` log: how far a quantised model's next-token
distributions are from the base model's, token by token.

What the tool prints at the end of a run (checked against llama.cpp's tools/perplexity/
perplexity.cpp, ``kl_divergence``; older builds printed fewer percentiles, and one printed the
99.0% line twice)::

    ====== KL divergence statistics ======
    Mean    KLD:   0.042532 ±   0.000364
    Maximum KLD:  10.214425
    99.9%   KLD:   1.545680
    99.0%   KLD:   0.324855
    ...
    Median  KLD:   0.023195
    ...
    Minimum KLD:  -0.000021
    ====== Token probability statistics ======
    ...
    Same top p: 89.938 ± 0.078 %

The per-chunk table above these lines holds running figures: only the final block counts. A log
cut short before it (a killed run) has no final figures, and is refused rather than read from
a chunk line. Same top p is printed in percent and kept here as a fraction.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import SourceError, oserror_text

_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|-?nan|-?inf)"
_PM = r"\s*(?:±|\+/-)\s*"
_MEAN = re.compile(r"^Mean\s+KLD:\s*" + _NUMBER + _PM + _NUMBER + r"\s*$")
_QUANTILE = re.compile(r"^\s*(Maximum|Minimum|Median|\d+(?:\.\d+)?%)\s+KLD:\s*" + _NUMBER + r"\s*$")
_TOP = re.compile(r"^Same top p:\s*" + _NUMBER + _PM + _NUMBER + r"\s*%\s*$")
_HEADER = "====== KL divergence statistics ======"


@dataclass(frozen=True)
class KldResult:
    file: str
    sha256: str
    mean: float
    mean_stderr: float
    quantiles: dict = field(default_factory=dict)  # "Maximum", "99.9%", "Median", ... -> value
    same_top: float | None = None  # fraction
    same_top_stderr: float | None = None


def read_llama_kld(path: str | os.PathLike, shown: str | None = None) -> KldResult:
    path = Path(path)
    shown = str(path) if shown is None else shown
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise SourceError(shown, "is a folder; name the log file llama-perplexity wrote") from None
    except OSError as exc:
        raise SourceError(shown, oserror_text(exc)) from None
    return parse_llama_kld(data, shown)


def parse_llama_kld(data: bytes, shown: str) -> KldResult:
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == _HEADER]
    if not starts:
        raise SourceError(shown, "no '====== KL divergence statistics ======' block (not a finished"
                                 " llama-perplexity --kl-divergence log?)")
    mean = stderr = same = same_stderr = None
    quantiles: dict = {}
    for number, line in enumerate(lines[starts[-1] + 1:], starts[-1] + 2):
        if match := _MEAN.match(line):
            mean, stderr = _finite(match.group(1), number, shown), _finite(match.group(2), number, shown)
        elif match := _QUANTILE.match(line):
            quantiles[match.group(1)] = _finite(match.group(2), number, shown)
        elif match := _TOP.match(line):
            same = _finite(match.group(1), number, shown) / 100
            same_stderr = _finite(match.group(2), number, shown) / 100
    if mean is None:
        raise SourceError(shown, "the KL divergence block has no 'Mean    KLD: x ± y' line")
    assert stderr is not None  # read on the same line as the mean
    if same is None:
        raise SourceError(shown, "no 'Same top p: x ± y %' line after the KL divergence block (log cut short?)")
    return KldResult(shown, hashlib.sha256(data).hexdigest(), mean, stderr, quantiles, same, same_stderr)


def _finite(text: str, line: int, shown: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise SourceError(shown, f"line {line}: {text} is not a finite number")
    return value
