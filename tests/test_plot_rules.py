"""The course's plotting rules, checked on every picture: one log-tick rule, a minimum span of
decades on gradient axes, lines that stay apart past four, retina PNGs in a notebook."""
import io
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gradcourse import experiments, plots  # noqa: E402
from gradcourse.diagnostics import spread_across_examples  # noqa: E402


def drawn(fig):
    """Draw the figure (so tick labels exist) and return it."""
    fig.savefig(io.BytesIO(), format="png")
    return fig


def log_axes(fig):
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if axis.get_scale() == "log":
                yield ax, name, axis


def decades(ax, name):
    low, high = ax.get_ylim() if name == "y" else ax.get_xlim()
    return np.log10(high / low)


# ----- one rule for log-axis ticks ---------------------------------------------------------------
@pytest.mark.parametrize("values, expected", [
    (np.array([1e-6, 1.0]), "10⁻⁶"),        # 6 decades: powers of ten only, as 10^k (plain text)
    (np.array([0.05, 2.0]), "0.1"),         # under 3 decades: plain numbers
])
def test_log_ticks_follow_one_rule(values, expected):
    fig, ax = plots.subplots()
    ax.plot([0, 1], values)
    plots.log_scale(ax, "y")
    labels = [t.get_text() for t in drawn(fig).axes[0].get_yticklabels() if t.get_text()]
    assert expected in labels
    wide = decades(ax, "y") >= plots.WIDE_DECADES
    assert all(label.startswith("10") and label[2:3] in "⁻⁰¹²³⁴⁵⁶⁷⁸⁹" for label in labels) == wide


def test_log_tick_formatter_rule_directly():
    fig, ax = plots.subplots()
    plots.log_scale(ax, "y")
    formatter, minor = ax.yaxis.get_major_formatter(), ax.yaxis.get_minor_formatter()
    ax.set_ylim(1e-8, 1)
    assert formatter(1e-4) == "10⁻⁴" and formatter(1e12) == "10¹²" and formatter(3e-4) == "" and minor(2e-3) == ""
    ax.set_ylim(0.05, 0.5)
    assert formatter(0.1) == "0.1" and minor(0.2) == "0.2"
    ax.set_ylim(0.01, 0.5)
    assert formatter(0.1) == "0.1" and minor(0.2) == ""


def every_picture():
    """One figure from each explorer (its small settings) and from the generic log plots."""
    figures = {name: spec.draw(spec.compute(**{**spec.defaults(), **spec.small}))
               for name, spec in experiments.EXPLORERS.items()}
    figures["gradient_flow"] = plots.gradient_flow({"a": [0.06, 0.07, 0.08], "b": [1e-6, 1e-3, 1.0]})
    figures["seed_spread"] = plots.seed_spread({"a": [1e-3, 1e-2], "b": [1.0, 2.0]}, "ratio", logy=True)
    figures["bar_comparison"] = plots.bar_comparison({"a": 0.5, "b": 2.0}, "loss", logy=True)
    figures["jacobian_spectrum"] = plots.jacobian_spectrum([0.5, 1.0, 2.0])
    figures["training_curves"] = plots.training_curves({"a": dict(loss=[10.0, 1.0, 1e-3])}, logy=True)
    return figures


@pytest.fixture(scope="module")
def pictures():
    return {name: drawn(fig) for name, fig in every_picture().items()}


def test_every_log_axis_uses_the_course_formatter(pictures):
    found = 0
    for name, fig in pictures.items():
        for ax, which, axis in log_axes(fig):
            found += 1
            assert isinstance(axis.get_major_formatter(), plots.LogTicks), (name, which)
            assert isinstance(axis.get_minor_formatter(), plots.LogTicks), (name, which)
    assert found >= 12


@pytest.mark.parametrize("name", ["depth", "chain", "residual", "clipping", "rnn", "remedy", "gradient_flow"])
def test_gradient_axes_span_at_least_the_minimum_decades(pictures, name):
    for ax, which, _ in log_axes(pictures[name]):
        if which == "y":
            assert decades(ax, which) >= plots.MIN_DECADES - 1e-9, (name, ax.get_title())


def test_a_healthy_band_looks_flat():
    fig = drawn(plots.gradient_flow(np.array([0.06, 0.07, 0.08, 0.07])))
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert np.log10(high / low) == pytest.approx(plots.MIN_DECADES)
    assert low < 0.06 and high > 0.08


# ----- more than four lines stay apart ---------------------------------------------------------
@pytest.mark.parametrize("n", [1, 4, 5, 8, 12, 16])
def test_line_styles_are_unique_and_change_dash_past_four(n):
    looks = [(look["color"], look["linestyle"]) for look in plots.line_styles(n)]
    assert len(set(looks)) == n
    assert len({style for _, style in looks}) == (1 if n <= 4 else min(4, -(-n // 4)))


def test_sequential_line_styles_change_dash_when_many():
    looks = plots.line_styles(10, sequential=True)
    assert len({look["linestyle"] for look in looks}) == 4


def test_a_plot_with_six_lines_uses_several_dash_patterns():
    runs = {f"run {i}": dict(loss=np.linspace(2, 1, 10) + i) for i in range(6)}
    fig = plots.training_curves(runs)
    lines = [line for line in fig.axes[0].lines if line.get_gid() is None]
    pairs = {(line.get_color(), line.get_linestyle()) for line in lines}
    assert len(pairs) == 6 and len({style for _, style in pairs}) == 2


def test_course_cycle_is_colour_and_dash():
    with plots.style():
        cycle = list(matplotlib.rcParams["axes.prop_cycle"])
    assert len({(c["color"], c["linestyle"]) for c in cycle}) == len(cycle) == 16


# ----- the depth explorer's forward panel: spread across examples ------------------------------
def test_spread_across_examples_is_zero_when_every_example_is_the_same():
    same = np.tile(np.arange(5.0), (8, 1))         # 8 examples, units differ, examples do not
    assert spread_across_examples(same) == 0.0 and np.std(same) > 1
    rows = np.random.default_rng(0).standard_normal((1000, 3))
    assert spread_across_examples(rows) == pytest.approx(np.mean(np.std(rows, axis=0)))


def test_depth_profile_records_the_spread_that_collapses():
    result = experiments.depth_profile(num_blocks=30, activation="sigmoid", init="normal", weight_std=0.1)
    assert result.act_spread[-1] < 1e-3 * result.act_spread[0]
    fig = experiments.plot_depth_profile(result)
    assert fig.axes[1].lines[0].get_ydata() == pytest.approx(result.act_spread)


# ----- retina PNGs in a notebook --------------------------------------------------------------
def test_notebook_figures_are_retina_and_keep_their_text():
    code = ("import matplotlib_inline.backend_inline as b, IPython; from IPython.core.interactiveshell import "
            "InteractiveShell; shell = InteractiveShell.instance(); from gradcourse import plots; "
            "fig, ax = plots.subplots(); fmt = shell.display_formatter.formatters['image/png']; "
            "data, meta = fmt(fig); print(meta, repr(fig))")
    env = {**os.environ, "MPLBACKEND": plots.INLINE_BACKEND}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert "'width': 6" in out  # retina: the PNG has twice the pixels and says its display width
    assert "<Figure size 640x400 with 1 Axes>" in out
