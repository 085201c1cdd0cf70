"""Threshold rules written in Python instead of [[tool.compviz.rules]].

The hook returns dicts with the same keys as a TOML rule: ``mode``/``model``/``plot-name``
globs select rows; ``max-relative-error`` ("8%" or 0.08), ``min-compression-rate`` and
``metrics = {COLUMN: {"min": .., "max": ..}}`` set checks. For each check, the last matching
rule wins, so general rules go first and specific ones after.
"""

# Error budget of a data-aware int4 model at 100% int4; each 20 points of the layers kept in int8
# must buy at least one point of average relative error.
INT4_ONLY_BUDGET = 6.0
PER_20_POINTS_OF_INT8 = 1.0


def pytest_compviz_rules(config):
    rules = [
        {   # rule 1: every compressed row
            "mode": "*",
            "max-relative-error": "9%",
            "min-compression-rate": 4.5,
            "metrics": {
                "WWB, similarity": {"min": 0.75},
                "wikitext, word perplexity": {"max": 12.5},
            },
        },
    ]
    # rules 2-5: mixed-precision rows, a budget computed from their int4 share
    for int4_share in (100, 80, 60, 40):
        budget = INT4_ONLY_BUDGET - PER_20_POINTS_OF_INT8 * (100 - int4_share) / 20
        rules.append({"plot-name": f"{int4_share}% int4", "max-relative-error": f"{budget:g}%"})
    # rule 6: LoRA correction must be close to the original (a fraction works as well as "4%")
    rules.append({
        "mode": "*lora correction",
        "max-relative-error": 0.04,
        "metrics": {"WWB, similarity": {"min": 0.88}},
    })
    return rules
