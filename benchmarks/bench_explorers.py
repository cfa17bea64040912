"""How long does each explorer take to recompute when a control moves?

Each explorer's compute (the pure function in `gradcourse.experiments`) is timed at its default
settings: one warm-up call, then the median of `--repeat` calls, against its budget (100 ms for
the explorers that look at a network at initialisation, 1 s for those that train). The draw
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

from gradcourse import experiments, plots  # noqa: E402
from gradcourse.widgets import figure_png  # noqa: E402

AT_INIT = 100    # ms: explorers that look at a network at initialisation (or a formula)
TRAINS = 1000    # ms: explorers that train something

# (explorer, its compute called with the explorer's default settings, its draw, budget in ms)
EXPLORERS = [
    ("chain_explorer", experiments.scalar_chain, plots.chain, AT_INIT),
    ("adam_bias_explorer", experiments.adam_moments, plots.adam_moments, AT_INIT),
    ("depth_explorer", experiments.depth_profile, plots.depth_profile, AT_INIT),
    ("schedule_explorer", experiments.schedule_comparison, plots.schedule_comparison, AT_INIT),
    ("optimizer_race_explorer", experiments.optimizer_race, plots.optimizer_race, TRAINS),
    ("optimizer_race_explorer (reddi)", lambda: experiments.optimizer_race("reddi"), plots.optimizer_race,
     TRAINS),
    ("residual_explorer", experiments.residual_vs_plain, plots.residual_training, TRAINS),
    ("clipping_explorer", experiments.clipping_runs, plots.clipping, TRAINS),
    # the explorer caches the naive baseline, so one uncached run is what a toggle costs
    ("remedy_explorer", experiments.train_with_remedies, lambda r: plots.remedies(r, r), TRAINS),
    ("remedy_explorer (every remedy on)",
     lambda: experiments.train_with_remedies("relu", "kaiming_normal", True, "adam", "warmup+cosine", True),
     lambda r: plots.remedies(r, r), TRAINS),
    ("rnn_explorer", experiments.gradient_through_time, plots.gradient_through_time, AT_INIT),
    ("rnn_explorer (lstm)", lambda: experiments.gradient_through_time(cell="lstm"), plots.gradient_through_time,
     AT_INIT),
    ("isometry_explorer", experiments.jacobian_isometry,
     lambda r: plots.jacobian_spectrum({r.label: r.singular_values}), AT_INIT),
    ("lr_finder_explorer", experiments.lr_range_on_digits, plots.lr_range, TRAINS),
]


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
    for name, compute, draw, target in EXPLORERS:
        if args.only and args.only not in name:
            continue
        compute_ms = median_ms(compute, args.repeat)
        result = compute()
        draw_ms = median_ms(lambda: figure_png(draw(result)), max(3, args.repeat // 5))
        ok = compute_ms <= target
        failures += [] if ok else [name]
        print(f"{name:34} {compute_ms:10.1f} {target:7d} {'yes' if ok else 'NO':>4} {draw_ms:21.0f}")
    print("all computes within budget" if not failures else f"over budget: {', '.join(failures)}")


if __name__ == "__main__":
    main()
