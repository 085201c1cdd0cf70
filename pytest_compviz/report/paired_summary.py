"""summary.md's section of paired figures (docs/paired.md): per compressed row and task, the
flips both ways, the paired difference with its standard error beside the independent one, and
the exact one-sided McNemar p-value."""

from __future__ import annotations


def paired_lines(rows, paired: dict, cell) -> list[str]:
    """The section for one model's ``rows`` (``core.gates.RowGates``); nothing when none is paired."""
    found = [(row, pairing) for row in rows if not row.is_reference for pairing in paired.get(row.index, ())]
    if not found:
        return []
    lines = ["\nPaired with the reference row, item by item:", "",
             "| row | task | items | right → wrong | wrong → right | accuracy | difference | paired ± | independent ± | McNemar p (worse) |",
             "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for row, p in found:
        f = p.flips
        lines.append(
            f"| {cell(row.label)} | {cell(p.name)} | {f.n} | {f.right_to_wrong} ({f.right_to_wrong_share:.1%})"
            f" | {f.wrong_to_right} ({f.wrong_to_right_share:.1%}) | {p.reference_accuracy:.1%} → {p.compressed_accuracy:.1%}"
            f" | {f.difference * 100:+.2f} pp | {f.stderr * 100:.2f} pp | {p.unpaired_stderr * 100:.2f} pp | {f.p_worse:.3g} |")
    return ["\n".join(lines) + "\n"]


def paired_limit(check) -> str | None:
    """How summary.md's limits column names a paired check; None for other checks."""
    from ..config.rules import EQUAL, FLIPS, PAIRED_TEST, RECOVERY

    if check.kind == FLIPS:
        return f"flips ≤ {check.limit * 100:g}%"
    if check.kind == PAIRED_TEST:
        return "not worse (paired)"
    if check.kind == RECOVERY:
        return f"recovery of '{check.column}' ≥ {check.limit:g}"
    if check.kind == EQUAL:
        return f"{check.column} = {check.limit:.0f}"
    return None


def row_figures(derived, index) -> dict:
    """compviz.json's figures of a row that other tools measured: llama.cpp's KL divergence and
    same-top-token share (``"kld"``), NNCF's op counts (``"nncf counts"``); only those present."""
    import math

    from ..spec import KLD_MEAN, KLD_QUANTILES, NUM_INT4, NUM_INT8, SAME_TOP, stderr_column

    def figure(column):
        if column not in derived.columns:
            return None
        try:
            value = float(derived.at[index, column])
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None

    found = {}
    kld = {column: figure(column) for column in (KLD_MEAN, stderr_column(KLD_MEAN), *KLD_QUANTILES.values(),
                                                 SAME_TOP, stderr_column(SAME_TOP))}
    kld = {column: value for column, value in kld.items() if value is not None}
    if kld:
        found["kld"] = kld
    counts = {column: figure(column) for column in (NUM_INT4, NUM_INT8)}
    counts = {column: int(value) for column, value in counts.items() if value is not None}
    if counts:
        found["nncf counts"] = counts
    return found
