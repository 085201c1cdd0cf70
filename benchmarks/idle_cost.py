"""Start-up cost of the installed plugin on a pytest run that has no compviz input.

Times `pytest` on a 50-file trivial suite with the plugin loaded and with `-p no:compviz`,
alternately (A B A B ...), and prints the median of the per-pair ratios: absolute times drift on
shared machines, ratios measured side by side do not. Other third-party plugins of the venv
(hypothesis alone imports for ~0.7 s) are disabled in both commands: their cost is the same
either way and only adds noise to the ratio.

    python benchmarks/idle_cost.py [--pairs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_suite(folder: Path, files: int = 50) -> None:
    for n in range(files):
        (folder / f"test_{n:02d}.py").write_text(f"def test_{n}():\n    assert {n} == {n}\n")


# Python writes its bytecode caches, as on a developer's machine or a CI runner (this sandbox sets
# PYTHONDONTWRITEBYTECODE=1: pytest then rewrites and compiles the plugin's modules on every run).
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=41)
    args = parser.parse_args()
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    for plugin in ("hypothesispytest", "html", "metadata", "typeguard", "xdist.plugin", "xdist.looponfail"):
        base += ["-p", f"no:{plugin}"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_suite(folder)
        timed(base, folder)  # warm the file system cache
        ratios, with_plugin, without = [], [], []
        for _ in range(args.pairs):
            a = timed(base, folder)
            b = timed([*base, "-p", "no:compviz"], folder)
            with_plugin.append(a)
            without.append(b)
            ratios.append(a / b)
    print(f"{'figure':<40} {'value':>10} {'target':>8}")
    print(f"{'idle run, plugin loaded (median s)':<40} {statistics.median(with_plugin):>10.3f}")
    print(f"{'idle run, -p no:compviz (median s)':<40} {statistics.median(without):>10.3f}")
    ratio = statistics.median(ratios)
    verdict = "ok" if ratio <= 1.02 else "over"
    print(f"{'ratio (median of ' + str(args.pairs) + ' pairs)':<40} {ratio:>10.3f} {'<= 1.02':>8} {verdict}")


if __name__ == "__main__":
    main()
