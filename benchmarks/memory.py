"""Peak memory of validating a large results file, against its size on disk.

Generates a file of ROWS rows (default 1,000,000: 1,000 models x 1,000 configurations), then, in a
fresh process, reads and validates it with the core (`load_results`, as the plugin's schema item
does; no rules, no plots) and prints the peak RSS over the file size.

    python benchmarks/memory.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sweep import write_sweep  # noqa: E402

MEASURE = """
import resource, sys, time
start = time.perf_counter()
from pytest_compviz.core.results import load_results
results = load_results(sys.argv[1])
elapsed = time.perf_counter() - start
print(len(results.derived), elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    configurations = 1000 if args.rows >= 1000 else args.rows
    models = max(1, args.rows // configurations)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_sweep(Path(tmp) / "large.csv", models, configurations)
        size = path.stat().st_size
        baseline = subprocess.run([sys.executable, "-c", "import resource; import pytest_compviz.core.results;"
                                   " print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"],
                                  capture_output=True, text=True, check=True)
        done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
    rows, seconds, peak = done.stdout.split()
    imports = int(baseline.stdout)
    peak = int(peak)
    print(f"{'figure':<46} {'value':>12} {'target':>10}")
    print(f"{'rows validated':<46} {int(rows):>12,}")
    print(f"{'file size (MB)':<46} {size / 1e6:>12.1f}")
    print(f"{'time to read + validate + derive (s)':<46} {float(seconds):>12.1f}")
    print(f"{'peak RSS (MB)':<46} {peak / 1e6:>12.1f}")
    print(f"{'  of which the imports alone (MB)':<46} {imports / 1e6:>12.1f}")
    ratio = peak / size
    print(f"{'peak RSS / file size':<46} {ratio:>12.2f} {'< 10':>10} {'ok' if ratio < 10 else 'over'}")


if __name__ == "__main__":
    main()
