"""How long does each explorer take from a slider move to the new picture?

Every explorer of `gradcourse.experiments.EXPLORERS` is built as a student gets it
(`gradcourse.widgets.build`) and moved from code, at its default settings (what a student first
sees) and at each of its spec's `variants`. One move is what the explorer does when a control
moves: compute, redraw into its figure, and render the PNG the lab shows. The timed move arrives
at the case's settings from a neighbouring one (the spec's `move` control set elsewhere and back),
so nothing is cached that a student's move would not find cached. The median of `--repeat`
moves, after one warm-up, is compared with the spec's `budget_ms` (`spec.AT_INIT`, 300 ms, for
the explorers that measure at initialisation; `spec.TRAINS`, 1 s, for those that train). The
compute alone is timed too, for information.
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
from gradcourse.widgets import build  # noqa: E402


def cases():
    """[(explorer name, label, settings, spec)]: the defaults and every variant of every explorer."""
    rows = []
    for name, spec in EXPLORERS.items():
        rows.append((name, name, spec.defaults(), spec))
        rows += [(name, f"{name} ({label})", {**spec.defaults(), **settings}, spec)
                 for label, settings in spec.variants.items()]
    return rows


def median_ms(function, repeat, before=None):
    """(wall, CPU) median times of `function()` in milliseconds, after one warm-up call;
    `before()`, untimed, runs before each call. On a shared machine the wall time includes the
    waits for a core; the process's CPU time does not, and is what the move costs when the
    machine is otherwise idle (numpy and OpenBLAS at one thread)."""
    wall, cpu = [], []
    for _ in range(repeat + 1):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(1e3 * (time.perf_counter() - start))
        cpu.append(1e3 * (time.process_time() - start_cpu))
    return float(np.median(wall[1:])), float(np.median(cpu[1:]))


def neighbour(spec, settings):
    """{control: value} one move away from `settings`: the spec's `move` control set elsewhere."""
    name, value = spec.move
    if settings[name] == value:
        control = spec.control(name)
        value = control.default if control.default != value else control.positions()[0]
    return {name: value}


def move_ms(spec, settings, repeat):
    """Median time of a slider move that arrives at `settings`: compute + redraw + PNG."""
    explorer = build(spec.name, **settings)
    back = {name: settings[name] for name in neighbour(spec, settings)}
    if explorer.result is None:
        raise RuntimeError(f"{spec.name}: {explorer.message}")
    return median_ms(lambda: explorer.set(**back), repeat, before=lambda: explorer.set(**neighbour(spec, settings)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed moves per case (default 9)")
    parser.add_argument("--only", help="time only the explorers whose name contains this")
    args = parser.parse_args()
    print(f"median of {args.repeat} runs; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"{os.cpu_count()} CPUs")
    print("total: slider move to new picture (compute + draw + PNG); ok: wall time within budget")
    print(f"{'explorer':34} {'total ms':>9} {'(CPU)':>7} {'budget':>7} {'ok':>4} {'compute ms':>11}")
    failures = []
    for _, label, settings, spec in cases():
        if args.only and args.only not in label:
            continue
        total, total_cpu = move_ms(spec, settings, args.repeat)
        compute, _ = median_ms(lambda: spec.compute(**settings), args.repeat)
        ok = total <= spec.budget_ms
        failures += [] if ok else [label]
        print(f"{label:34} {total:9.0f} {total_cpu:7.0f} {spec.budget_ms:7d} {'yes' if ok else 'NO':>4} "
              f"{compute:11.1f}")
    print("every explorer within budget" if not failures else f"over budget: {', '.join(failures)}")


if __name__ == "__main__":
    main()
