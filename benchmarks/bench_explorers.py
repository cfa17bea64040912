"""How long does each explorer take to recompute when a control moves?

Every explorer of `gradcourse.experiments.EXPLORERS` is timed at its default settings (what a
student first sees) and at each of its spec's `variants`: its compute function, one warm-up
call, then the median of `--repeat` calls, against the spec's `budget_ms` (100 ms for the
explorers that look at a network at initialisation, 1 s for those that train). The draw
(figure + PNG, what the explorer does after computing) is timed separately, for information.
Run: `python benchmarks/bench_explorers.py [--repeat N] [--only NAME]`.

On a busy 2-core machine, OpenBLAS's threads fight over the cores on small matrices; compare
with `OPENBLAS_NUM_THREADS=1 python benchmarks/bench_explorers.py`.
"""
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from gradcourse.experiments import EXPLORERS  # noqa: E402
from gradcourse.widgets import figure_png  # noqa: E402


def cases():
    """[(explorer name, label, settings, spec)]: the defaults and every variant of every explorer."""
    rows = []
    for name, spec in EXPLORERS.items():
        rows.append((name, name, spec.defaults(), spec))
        rows += [(name, f"{name} ({label})", {**spec.defaults(), **settings}, spec)
                 for label, settings in spec.variants.items()]
    return rows


def median_ms(function, repeat):
    """Median wall time of `function()` in milliseconds, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(1e3 * (time.perf_counter() - start))
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per compute (default 15)")
    parser.add_argument("--only", help="time only the explorers whose name contains this")
    args = parser.parse_args()
    print(f"median of {args.repeat} runs; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'explorer':34} {'compute ms':>10} {'target':>7} {'ok':>4} {'draw ms (figure+PNG)':>21}")
    failures = []
    for _, label, settings, spec in cases():
        if args.only and args.only not in label:
            continue
        compute_ms = median_ms(lambda: spec.compute(**settings), args.repeat)
        result = spec.compute(**settings)
        draw_ms = median_ms(lambda: figure_png(spec.draw(result)), max(3, args.repeat // 5))
        ok = compute_ms <= spec.budget_ms
        failures += [] if ok else [label]
        print(f"{label:34} {compute_ms:10.1f} {spec.budget_ms:7d} {'yes' if ok else 'NO':>4} {draw_ms:21.0f}")
    print("all computes within budget" if not failures else f"over budget: {', '.join(failures)}")


if __name__ == "__main__":
    main()
