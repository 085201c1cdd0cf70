"""What a results CSV contains: column names and metric definitions.

Plain data with no heavy imports, so the pytest plugin and its hooks can use it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MODE = "mode"
INT4 = "%int4"
INT8 = "%int8"
LORA_RANK = "lora rank"
PLOT_NAME = "plot name"
SIZE = "model size, Gb"
MODEL = "model"  # a column with this exact name holds the model name; else the first column does

# Derived columns. A CSV may carry them too; they are compared with the recomputed values,
# never used as input.
ERROR = "average relative error"
RATE = "compression rate"

Direction = Literal["higher", "lower", "similarity"]


@dataclass(frozen=True)
class Metric:
    """One measured quality column and how a row's relative error on it is computed.

    - ``higher``: higher is better (accuracy): ``(base - row) / base``
    - ``lower``: lower is better (perplexity): ``(row - base) / base``
    - ``similarity``: 1 means identical to the baseline: ``1 - row``

    ``minimum``/``maximum`` are inclusive validation bounds; ``positive`` requires > 0.
    ``lm_eval``: where lm-evaluation-harness keeps it, (task, metric, filter), so a manifest's
    ``lm-eval`` column can fill it (see ``parse_lm_eval_spec``).
    """

    column: str
    direction: Direction
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    lm_eval: tuple[str, str, str] | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower", "similarity"):
            raise ValueError(
                f"metric {self.column!r}: direction must be 'higher', 'lower' or 'similarity',"
                f" not {self.direction!r}"
            )

    @property
    def divides_by_reference(self) -> bool:
        return self.direction != "similarity"


# The four NNCF metrics, in the order of the NNCF script's mean; the similarity comes from WWB.
DEFAULT_METRICS: tuple[Metric, ...] = (
    Metric("lambada-openai, acc", "higher", minimum=0.0, maximum=1.0, lm_eval=("lambada_openai", "acc", "none")),
    Metric("lambada-openai, perplexity", "lower", positive=True, lm_eval=("lambada_openai", "perplexity", "none")),
    Metric("WWB, similarity", "similarity", minimum=0.0, maximum=1.0),
    Metric("wikitext, word perplexity", "lower", positive=True, lm_eval=("wikitext", "word_perplexity", "none")),
)


# A manifest's source columns (see core.manifest): reserved names; a header with one is a manifest.
LM_EVAL, WWB, MODEL_PATH = "lm-eval", "wwb", "model path"
# Per-sample lm-eval outputs (--log_samples) and llama-perplexity --kl-divergence logs (docs/paired.md).
LM_EVAL_SAMPLES, LLAMA_KLD = "lm-eval samples", "llama-kld"
SOURCE_COLUMNS = (LM_EVAL, WWB, MODEL_PATH, LM_EVAL_SAMPLES, LLAMA_KLD)

# The columns a llama-kld log fills: mean KL divergence (with its stderr), its percentiles, and the
# share of tokens whose most likely next token is the base model's (a fraction).
KLD_MEAN = "KLD, mean"
SAME_TOP = "same top p"
KLD_QUANTILES = {"Maximum": "KLD, maximum", "99.9%": "KLD, 99.9%", "99.0%": "KLD, 99%", "95.0%": "KLD, 95%",
                 "Median": "KLD, median"}
# NNCF's footprint counts of a compressed model: its int4 and int8 weight-compressed ops.
NUM_INT4, NUM_INT8 = "num_int4", "num_int8"


def stderr_column(column: str) -> str:
    """The optional column holding a metric's standard error: ``lambada-openai, acc stderr``."""
    return f"{column} stderr"


def parse_lm_eval_spec(text: str) -> tuple[str, str, str]:
    """``"mmlu/acc"`` -> ``("mmlu", "acc", "none")``; ``"gsm8k/exact_match,strict-match"`` ->
    ``("gsm8k", "exact_match", "strict-match")``: lm-eval keys a task's figures ``metric,filter``.
    ValueError says what is wrong."""
    task, slash, rest = text.strip().partition("/")
    metric, _, filter = rest.partition(",")
    task, metric, filter = task.strip(), metric.strip(), filter.strip() or "none"
    if not slash or not task or not metric or "/" in rest or "," in filter:
        raise ValueError(f"lm-eval metric {text!r}: expected 'task/metric' or 'task/metric,filter'")
    return task, metric, filter

DEFAULT_REFERENCE_MODE = "fp32"


@dataclass(frozen=True)
class Settings:
    """How a results file is interpreted: its baseline mode and its metrics."""

    reference_mode: str = DEFAULT_REFERENCE_MODE
    metrics: tuple[Metric, ...] = DEFAULT_METRICS

    def __post_init__(self) -> None:
        if not self.metrics:
            raise ValueError("at least one metric is needed to compute the average relative error")
        columns = [m.column for m in self.metrics]
        if len(set(columns)) != len(columns):
            raise ValueError(f"metric columns must be unique: {columns}")
