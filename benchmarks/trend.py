"""What a run that keeps a history pays for its CI-loop outputs on a history of 1,000 runs x 100 rows:
append, read, the trend series of the newest TREND_RUNS runs and the step-change scan (no drawing).

    python benchmarks/trend.py
"""
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_history_store import _record
from pytest_compviz.history.store import append_record, read_history
from pytest_compviz.report.trend import TREND_RUNS, trends, step_changes
folder = Path(tempfile.mkdtemp()) / "h"
for n in range(1000):
    append_record(folder, "h", _record(n, configs=100), keep=10_000)
t = time.perf_counter()
append_record(folder, "h", _record(1000, configs=100), keep=10_000)
records = read_history(folder, "h")
by_model = trends(records[-TREND_RUNS:])
steps = step_changes(by_model)
print(f"append + read + trends of the newest {TREND_RUNS} + step changes: {time.perf_counter() - t:.3f} s"
      f" ({len(records)} runs x 100 rows)")
