"""Tests of gradcourse.plots: each picture shows exactly the data it was given, and draws cleanly.

Every test runs with warnings turned into errors and checks that no pyplot figure was created
(the module builds Figures directly, so a notebook displays each picture once).
"""
import io
import math
import subprocess
import sys
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # also selected by conftest.py; repeated so this module runs on its own

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gradcourse import experiments as E  # noqa: E402
from gradcourse import plots as P  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def strict_and_no_pyplot():
    """Warnings are errors; the test must leave pyplot without figures and rcParams untouched."""
    assert plt.get_fignums() == []
    rc_before = dict(matplotlib.rcParams)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert plt.get_fignums() == [], "a gradcourse.plots function created a pyplot figure"
    assert dict(matplotlib.rcParams) == rc_before, "a gradcourse.plots function changed rcParams"


def render(fig, size=P.FIGSIZE):
    """Check the pinned size and draw the figure to PNG bytes (with warnings as errors)."""
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == pytest.approx(size)
    assert fig.dpi == P.DPI
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(PNG_SIGNATURE)
    return fig


def data_lines(ax):
    """The lines that carry data (reference lines and markers have a gid)."""
    return [line for line in ax.lines if line.get_gid() is None]


def by_gid(ax, gid):
    return [line for line in ax.lines if line.get_gid() == gid]


def labelled(ax):
    return bool(ax.get_xlabel().strip()) and bool(ax.get_ylabel().strip())


def texts(ax):
    return [t.get_text() for t in ax.texts]


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ----- the look -------------------------------------------------------------------------------
def test_palette_is_okabe_ito_hex_colours():
    assert len(P.PALETTE) == len(set(P.PALETTE)) == 8
    assert all(matplotlib.colors.is_color_like(c) and c.startswith("#") and len(c) == 7
               for c in P.PALETTE)


def test_style_pins_size_and_applies_only_inside_the_context():
    # what nbval compares is a figure's text repr: the notebooks store "<Figure size 640x400 ...>"
    assert repr(P.subplots()[0]).startswith("<Figure size 640x400 with 1 Axes>")
    with P.style():   # a figure made any other way inside the style gets the same size
        plain = matplotlib.figure.Figure()
    assert tuple(plain.get_size_inches()) == P.FIGSIZE and plain.dpi == P.DPI
    with P.style():
        cycle = list(matplotlib.rcParams["axes.prop_cycle"])
    assert [(c["color"], c["linestyle"]) for c in cycle[:5]] == [(c, "-") for c in P.PALETTE[:4]] + [(P.PALETTE[0], "--")]
    assert list(matplotlib.rcParams["axes.prop_cycle"]) != cycle


def test_importing_changes_no_global_setting():
    code = ("import matplotlib; before = dict(matplotlib.rcParams); import gradcourse.plots; "
            "import matplotlib.pyplot as plt; assert dict(matplotlib.rcParams) == before; "
            "assert plt.get_fignums() == []")
    subprocess.run([sys.executable, "-c", code], check=True, env={"MPLBACKEND": "Agg"})


def test_the_package_re_exports_every_public_name_of_its_modules():
    modules = (P.axes, P.course_style, P.layers, P.surfaces, P.training)
    public = {name for module in modules for name, value in vars(module).items()
              if not name.startswith("_") and getattr(value, "__module__", module.__name__) == module.__name__
              and not isinstance(value, type(P))}
    assert set(P.__all__) == public
    assert all(getattr(P, name) is getattr(module, name) for module in modules for name in public
               if hasattr(module, name))
    assert callable(P.style) and callable(P.schedules)   # the functions, not modules of the same name


def test_figure_repr_shows_the_pinned_size():
    assert repr(P.gradient_flow(np.ones(3))) == "<Figure size 640x400 with 1 Axes>"
    fig, axes = P.subplots(1, 2)
    assert repr(fig) == "<Figure size 1000x400 with 2 Axes>"


# ----- gradient_flow and activation_std ---------------------------------------------------------
def test_gradient_flow_plots_the_norms_on_a_log_scale():
    norms = np.array([1e-6, 1e-4, 1e-2, 1.0])
    fig = render(P.gradient_flow(norms, title="at init"))
    ax = fig.axes[0]
    assert labelled(ax) and "layer" in ax.get_xlabel() and ax.get_title() == "at init"
    assert ax.get_yscale() == "log"
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(line.get_ydata(), norms)
    assert ax.get_legend() is None  # one unnamed configuration: nothing to tell apart


def test_gradient_flow_one_line_per_configuration_with_distinct_colours():
    norms = {"normal": 0.5 ** np.arange(6), "kaiming": np.ones(6), "large": 2.0 ** np.arange(4)}
    ax = render(P.gradient_flow(norms)).axes[0]
    assert [line.get_label() for line in ax.lines] == list(norms)
    for line, values in zip(ax.lines, norms.values()):
        np.testing.assert_array_equal(line.get_ydata(), values)
    assert len({line.get_color() for line in ax.lines}) == 3
    assert legend_texts(ax) == list(norms)


def test_gradient_flow_masks_and_names_values_a_log_scale_cannot_show():
    norms = np.array([0.0, np.inf, np.nan, 1e-3, 1.0])
    ax = render(P.gradient_flow(norms)).axes[0]
    y = ax.lines[0].get_ydata()
    assert np.all(np.isnan(y[:3]))
    np.testing.assert_array_equal(y[3:], norms[3:])
    assert sorted(texts(ax)) == sorted(["↓0", "↑inf", "nan"])


def test_gradient_flow_with_no_drawable_value_still_draws():
    ax = render(P.gradient_flow({"dead": np.zeros(4), "blown up": np.full(4, np.inf)})).axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.texts) == 8


def test_gradient_flow_draws_into_a_given_axes():
    fig, (left, right) = P.subplots(1, 2)
    assert P.gradient_flow(np.ones(3), ax=right) is fig
    assert P.activation_std(np.ones(3), ax=left) is fig
    assert len(left.lines) == len(right.lines) == 1
    render(fig, P.WIDE_FIGSIZE)


def test_gradient_flow_rejects_a_table_with_a_clear_message():
    with pytest.raises(ValueError, match="1-D.*dict"):
        P.gradient_flow(np.ones((3, 4)))


def test_activation_std_log_by_default_and_linear_on_request():
    stds = {"a": np.array([1.0, 0.5, 0.25]), "b": np.array([1.0, -1.0, 2.0])}
    ax = render(P.activation_std(stds)).axes[0]
    assert ax.get_yscale() == "log" and labelled(ax)
    assert np.isnan(ax.lines[1].get_ydata()[1])  # a negative value cannot go on a log axis
    ax = render(P.activation_std(stds, logy=False)).axes[0]
    assert ax.get_yscale() == "linear" and "log" not in ax.get_ylabel()
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), stds["b"])


# ----- layer_histograms ---------------------------------------------------------------------------
def test_layer_histograms_one_density_per_layer_with_makemore_statistics(rng):
    acts = [np.tanh(rng.standard_normal((64, 20)) * gain) for gain in (0.5, 1.0, 3.0)]
    ax = render(P.layer_histograms(acts, activation="tanh", bins=30)).axes[0]
    assert labelled(ax) and len(ax.lines) == 3
    for line, a in zip(ax.lines, acts):
        density, edges = np.histogram(a.ravel(), bins=30, density=True)
        np.testing.assert_allclose(line.get_ydata(), density)
        np.testing.assert_allclose(line.get_xdata(), (edges[1:] + edges[:-1]) / 2)
    for text, a in zip(legend_texts(ax), acts):
        saturated = 100 * np.mean(np.abs(a) > 0.97)
        assert f"mean {a.mean():+.2f}" in text and f"std {a.std():.2f}" in text
        assert f"saturated {saturated:.1f}%" in text
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.lines]
    assert len(set(colours)) == 3  # coloured by layer position


def test_layer_histograms_sigmoid_and_relu_statistics():
    sig = {"h1": np.array([0.01, 0.5, 0.5, 0.99])}
    text, = legend_texts(render(P.layer_histograms(sig, activation="sigmoid")).axes[0])
    assert text.startswith("h1:") and "saturated 50.0%" in text
    relu = [np.array([0.0, 0.0, 0.0, 2.0, 4.0, 4.0, 0.0, 0.0])]
    ax = render(P.layer_histograms(relu, activation="relu", bins=2)).axes[0]
    text, = legend_texts(ax)
    assert "zero 62.5%" in text and "dead" not in text and "zeros left out" in ax.get_xlabel()
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [2.5, 3.5])     # bins over the non-zeros
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1 / 3, 2 / 3])


def test_layer_histograms_gradients_and_non_finite_layers(rng):
    grads = [rng.standard_normal(100) * 1e-4, np.array([1.0, np.nan, np.inf, 2.0]), np.full(3, np.nan)]
    ax = render(P.layer_histograms(grads, kind="gradient")).axes[0]
    assert "gradient" in ax.get_xlabel() and len(ax.lines) == 3
    legend = legend_texts(ax)
    assert "e-" in legend[0]                      # tiny gradients in scientific notation
    assert "2 non-finite left out" in legend[1]
    assert "no finite values" in legend[2] and ax.lines[2].get_xdata().size == 0


def test_layer_histograms_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        P.layer_histograms([np.ones(3)], kind="weights")


# ----- update_ratio -------------------------------------------------------------------------------
def test_update_ratio_log10_per_layer_with_reference_at_minus_three(rng):
    history = 10.0 ** rng.uniform(-5, -2, size=(40, 3))
    ax = render(P.update_ratio(history)).axes[0]
    assert labelled(ax) and "log10" in ax.get_ylabel()
    lines = data_lines(ax)
    assert [line.get_label() for line in lines] == ["layer 1", "layer 2", "layer 3"]
    for line, column in zip(lines, history.T):
        np.testing.assert_allclose(line.get_ydata(), np.log10(column))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(40))
    (reference,) = by_gid(ax, "reference")
    assert np.all(np.asarray(reference.get_ydata()) == -3) and reference.get_linestyle() == "--"
    assert "1e-3" in reference.get_label()


def test_update_ratio_dict_labels_and_non_finite_entries():
    history = {"w1": np.array([1e-3, 0.0, np.nan, np.inf, 1e-2]), "w2": np.full(5, 1e-4)}
    ax = render(P.update_ratio(history)).axes[0]
    y = data_lines(ax)[0].get_ydata()
    np.testing.assert_allclose(y[[0, 4]], [-3, -2])
    assert np.all(np.isnan(y[1:4]))
    assert [line.get_label() for line in data_lines(ax)] == ["w1", "w2"]


def test_update_ratio_accepts_a_gradient_flow_history():
    history = {"update_ratio": np.full((3, 2), 1e-3), "step": np.array([10, 11, 12]),
               "grad_norm": np.ones((3, 4))}
    ax = render(P.update_ratio(history, labels=["0.weight", "2.weight"])).axes[0]
    np.testing.assert_array_equal(data_lines(ax)[1].get_xdata(), [10, 11, 12])
    assert data_lines(ax)[1].get_label() == "2.weight"


def test_update_ratio_checks_labels():
    with pytest.raises(ValueError, match=r"update_ratio: labels must be one label per column of history \(3\)"):
        P.update_ratio(np.ones((4, 3)), labels=["a", "b"])


# ----- training_curves ----------------------------------------------------------------------------
RUNS = {
    "lr=0.01": {"loss": [2.0, 1.5, 1.0, 0.8], "accuracy": [0.1, 0.4, 0.6, 0.7], "diverged_at": None},
    "lr=10": {"loss": [2.0, 30.0, 900.0], "accuracy": [0.1, 0.1, 0.1], "diverged_at": 3},
}


def test_training_curves_plots_losses_and_marks_the_divergence():
    ax = render(P.training_curves(RUNS)).axes[0]
    assert labelled(ax) and "loss" in ax.get_ylabel()
    lines = data_lines(ax)
    assert [line.get_label() for line in lines] == list(RUNS)
    for line, run in zip(lines, RUNS.values()):
        np.testing.assert_array_equal(line.get_ydata(), run["loss"])
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(run["loss"])))
    (marker,) = by_gid(ax, "diverged")
    assert marker.get_xdata()[0] == 3 and marker.get_ydata()[0] == 900.0  # last finite loss
    assert marker.get_marker() == "X" and marker.get_color() == lines[1].get_color()
    assert "diverged at step 3" in texts(ax)
    assert ax.get_yscale() == "log"  # 0.8 .. 900 spans three decades


def test_training_curves_without_divergence_has_no_marker_and_stays_linear():
    ax = render(P.training_curves({"ok": RUNS["lr=0.01"]})).axes[0]
    assert by_gid(ax, "diverged") == [] and len(ax.texts) == 0
    assert ax.get_yscale() == "linear"
    assert P.training_curves({"ok": RUNS["lr=0.01"]}, logy=True).axes[0].get_yscale() == "log"


def test_training_curves_finds_a_non_finite_loss_itself():
    ax = render(P.training_curves({"nan run": {"loss": [1.0, 2.0, np.nan, np.inf]}})).axes[0]
    (marker,) = by_gid(ax, "diverged")
    assert marker.get_xdata()[0] == 2 and marker.get_ydata()[0] == 2.0
    assert np.all(np.isnan(data_lines(ax)[0].get_ydata()[2:]))


def test_training_curves_both_metrics_in_two_panels():
    fig = render(P.training_curves(RUNS, metric="both", title="two learning rates"), P.WIDE_FIGSIZE)
    loss_ax, acc_ax = fig.axes
    assert "accuracy" in acc_ax.get_ylabel() and labelled(acc_ax) and labelled(loss_ax)
    for line, run in zip(data_lines(acc_ax), RUNS.values()):
        np.testing.assert_array_equal(line.get_ydata(), run["accuracy"])
    assert len(by_gid(loss_ax, "diverged")) == len(by_gid(acc_ax, "diverged")) == 1


def test_training_curves_reads_a_history_object():
    history = SimpleNamespace(loss=[1.0, 0.5], train_accuracy=[0.3, 0.9], eval_steps=[0, 1],
                              diverged_at=None)
    fig = P.training_curves({"fit": history}, metric="accuracy")
    np.testing.assert_array_equal(data_lines(fig.axes[0])[0].get_ydata(), [0.3, 0.9])


def test_training_curves_errors():
    with pytest.raises(ValueError, match="metric"):
        P.training_curves(RUNS, metric="lr")
    with pytest.raises(ValueError, match="training_curves: runs must be runs of which at least one has 'accuracy'"):
        P.training_curves({"a": {"loss": [1.0]}}, metric="accuracy")


# ----- schedules ----------------------------------------------------------------------------------
def test_schedules_evaluates_callables_and_plots_arrays():
    curves = {"step decay": lambda t: 0.1 * 0.5 ** (t // 10), "given": np.linspace(0.1, 0.0, 30)}
    ax = render(P.schedules(curves, steps=30)).axes[0]
    assert labelled(ax) and "learning rate" in ax.get_ylabel()
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.1 * 0.5 ** (t // 10) for t in range(30)])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), curves["given"])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(30))


def test_schedules_with_course_schedules_on_a_log_scale():
    S = pytest.importorskip("gradcourse.schedules")
    cosine = S.CosineAnnealing(0.1, total_steps=50)
    ax = render(P.schedules({"cosine": cosine}, steps=50, logy=True)).axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_ydata()[:10], [cosine(t) for t in range(10)])


def test_schedules_needs_steps_for_a_callable():
    with pytest.raises(ValueError, match=r"schedules: steps must be a positive integer when a schedule is a callable"):
        P.schedules({"constant": lambda t: 0.1})


# ----- loss_surface -------------------------------------------------------------------------------
def bowl(x, y):
    return x ** 2 + 10 * y ** 2


def test_loss_surface_contours_and_trajectories():
    path = np.array([[2.0, 1.0], [1.0, -0.5], [0.5, 0.2], [0.1, 0.0]])
    fig = render(P.loss_surface(bowl, (-3, 3), (-2, 2), trajectories={"SGD": path, "other": path / 2},
                                levels=12, resolution=40))
    ax = fig.axes[0]
    assert labelled(ax) and ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-2, 2)
    assert len(ax.collections) == 1                        # one ContourSet
    levels = ax.collections[0].levels
    assert len(levels) == 12 and levels[0] > 0 and levels[-1] == pytest.approx(bowl(-3, -2))
    grid = np.linspace(-3, 3, 40)[None, :] ** 2 + 10 * np.linspace(-2, 2, 40)[:, None] ** 2
    above_minimum = levels - grid.min()       # geometric steps over four decades above the minimum
    np.testing.assert_allclose(np.diff(np.log(above_minimum)), np.log(1e4) / 11)
    paths = data_lines(ax)
    assert [line.get_label() for line in paths] == ["SGD", "other"]
    np.testing.assert_array_equal(paths[0].get_xydata(), path)
    start, end = by_gid(ax, "start")[0], by_gid(ax, "end")[0]
    assert (start.get_xdata()[0], start.get_ydata()[0]) == (2.0, 1.0)
    assert (end.get_xdata()[0], end.get_ydata()[0]) == (0.1, 0.0)
    assert {"start", "end"} <= set(legend_texts(ax))


def test_loss_surface_falls_back_to_scalar_evaluation_and_linear_levels():
    def scalar_only(x, y):
        return math.exp(-x * x) + y * y      # math.exp refuses arrays
    ax = render(P.loss_surface(scalar_only, (-1, 1), (-1, 1), levels=5, resolution=15,
                               log_levels=False)).axes[0]
    levels = ax.collections[0].levels
    np.testing.assert_allclose(np.diff(levels), np.diff(levels)[0])


def test_loss_surface_survives_overflow_constant_f_and_a_diverging_path():
    path = np.array([[0.5, 0.5], [5.0, -5.0], [np.inf, np.nan]])
    render(P.loss_surface(lambda x, y: np.exp(50 * x ** 2) + y, (-10, 10), (-1, 1), resolution=20,
                          trajectories={"diverged": path}))
    ax = render(P.loss_surface(lambda x, y: 0 * x + 1.0, (0, 1), (0, 1), resolution=10)).axes[0]
    assert len(ax.collections) == 0 and "constant" in texts(ax)[0]


def test_loss_surface_checks_trajectory_shape():
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        P.loss_surface(bowl, (-1, 1), (-1, 1), trajectories={"bad": np.ones((5, 3))}, resolution=5)


# ----- jacobian_spectrum and bar_comparison ----------------------------------------------------------
def test_jacobian_spectrum_cdf_on_log_x_with_isometry_line(rng):
    spectra = {"orthogonal": np.ones(8), "gaussian": rng.uniform(0.01, 3, 20)}
    ax = render(P.jacobian_spectrum(spectra)).axes[0]
    assert ax.get_xscale() == "log" and labelled(ax)
    lines = data_lines(ax)
    assert [line.get_label() for line in lines] == list(spectra)
    np.testing.assert_array_equal(lines[1].get_xdata(), np.sort(spectra["gaussian"]))
    np.testing.assert_allclose(lines[1].get_ydata(), np.arange(1, 21) / 20)
    (reference,) = by_gid(ax, "reference")
    assert np.all(np.asarray(reference.get_xdata()) == 1.0)


def test_jacobian_spectrum_leaves_out_zero_and_non_finite_values():
    values = np.array([0.0, np.nan, 1e-3, 2.0, np.inf])
    ax = render(P.jacobian_spectrum({"deep": values})).axes[0]
    line = data_lines(ax)[0]
    np.testing.assert_array_equal(line.get_xdata(), [1e-3, 2.0])
    # of the four non-nan values, the zero is below 1e-3 and the inf above 2
    np.testing.assert_allclose(line.get_ydata(), [2 / 4, 3 / 4])
    assert "(1 zero, 1 inf, 1 nan: not on the log axis)" in line.get_label()


def test_bar_comparison_one_bar_per_configuration():
    values = {"baseline": 2.3, "Kaiming init": 0.4, "BatchNorm": 0.2}
    ax = render(P.bar_comparison(values, ylabel="final loss")).axes[0]
    assert ax.get_ylabel() == "final loss"
    assert [bar.get_height() for bar in ax.patches] == list(values.values())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(values)
    assert texts(ax) == ["2.3", "0.4", "0.2"]


def test_bar_comparison_log_scale_and_a_diverged_run():
    values = {"no clipping": np.inf, "clip 1.0": 0.05, "clip 0.1": 0.5, "zero": 0.0}
    ax = render(P.bar_comparison(values, ylabel="final loss", logy=True)).axes[0]
    assert ax.get_yscale() == "log" and len(ax.patches) == 4
    assert "↑inf" in texts(ax) and "↓0" in texts(ax)


# ----- the explorers' pictures --------------------------------------------------------------------
def test_chain_plots_measured_and_formula():
    distance = np.arange(6)
    result = SimpleNamespace(distance=distance, measured=0.25 ** distance, analytic=0.25 ** distance,
                             factor=0.25)
    ax = render(E.plot_chain(result)).axes[0]
    assert ax.get_yscale() == "log" and labelled(ax) and "0.25" in ax.get_title()
    formula, measured = ax.lines
    np.testing.assert_array_equal(measured.get_ydata(), result.measured)
    np.testing.assert_array_equal(formula.get_xdata(), distance)
    underflow = SimpleNamespace(distance=distance, measured=np.r_[1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                                analytic=1e-300 ** distance, factor=1e-300)
    render(E.plot_chain(underflow))


def test_adam_moments_two_panels():
    t = np.arange(1, 11)
    m = 1 - 0.9 ** t
    result = SimpleNamespace(t=t, gradients=np.ones(10), m=m, v=m, m_hat=np.ones(10), v_hat=np.ones(10),
                             step_corrected=np.ones(10), step_uncorrected=m / np.sqrt(m))
    fig = render(E.plot_adam_moments(result), P.WIDE_FIGSIZE)
    assert len(fig.axes) == 2 and all(labelled(ax) for ax in fig.axes)
    np.testing.assert_array_equal(fig.axes[1].lines[1].get_ydata(), result.step_corrected)


def test_explorer_pictures_draw_the_real_experiments():
    E = pytest.importorskip("gradcourse.experiments")
    render(E.plot_chain(E.scalar_chain(num_layers=10)))
    render(E.plot_adam_moments(E.adam_moments(steps=20, noise=0.5)), P.WIDE_FIGSIZE)


def test_in_jupyter_the_inline_backend_is_loaded_so_figures_display_as_png(monkeypatch):
    pytest.importorskip("matplotlib_inline")
    monkeypatch.setenv("MPLBACKEND", P.INLINE_BACKEND)      # what ipykernel sets
    monkeypatch.delitem(sys.modules, "matplotlib_inline.backend_inline", raising=False)
    P.gradient_flow(np.ones(2))
    assert "matplotlib_inline.backend_inline" in sys.modules


def test_gradient_profiles_name_both_gradients_on_their_axes():
    fig = P.gradient_profiles({"a": np.logspace(-3, 0, 5)}, {"a": np.ones(5)}, title="t")
    left, right = fig.axes
    assert "\\partial h_l" in left.get_ylabel() and "\\partial W_l" in right.get_ylabel()
    assert left.get_yscale() == right.get_yscale() == "log"
    np.testing.assert_allclose(left.get_lines()[0].get_ydata(), np.logspace(-3, 0, 5))
    assert fig.get_suptitle() == "t"


def test_seed_spread_draws_every_seed_and_counts_non_finite_ones():
    from gradcourse.seeds import SeedValues
    values = {"a": SeedValues((0, 1, 2), [0.2, 0.4, 0.6]), "b": np.array([1.0, np.nan, 3.0])}
    fig = P.seed_spread(values, "final loss", reference=0.1)
    ax = fig.axes[0]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [np.count_nonzero(np.isfinite(d.get_ydata())) for d in dots] == [3, 2]
    means = [line for line in ax.get_lines() if line.get_marker() != "o" and len(line.get_xdata()) == 2
             and line.get_linestyle() == "-"]
    assert [m.get_ydata()[0] for m in means] == pytest.approx([0.4, 2.0])
    assert any("1 of 3" in t.get_text() for t in ax.texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert "3 seeds" in ax.get_title()
    with pytest.raises(ValueError, match="non-empty dict"):
        P.seed_spread({}, "y")


# ----- bad arguments (issue 17, hostile round) -----------------------------------------------------
@pytest.mark.parametrize("call, match, error", [
    (lambda: P.gradient_flow([1.0, 2.0], ax="left"), "ax must be None or a matplotlib Axes", TypeError),
    (lambda: P.log_scale(P.subplots()[1], axis="z"), "log_scale: axis must be one of 'x', 'y'", ValueError),
    (lambda: P.log_scale(5), "log_scale: ax must be a matplotlib Axes", TypeError),
    (lambda: P.log_scale(P.subplots()[1], min_decades=0), "log_scale: min_decades", ValueError),
    (lambda: P.layer_histograms([np.ones(3)], bins=0), "layer_histograms: bins", ValueError),
    (lambda: P.layer_histograms([np.ones(3)], activation="swish"), "layer_histograms: activation", ValueError),
    (lambda: P.layer_histograms(5), "layer_histograms: values", TypeError),
    (lambda: P.update_ratio(np.ones((2, 1)), reference="x"), "update_ratio: reference", TypeError),
    (lambda: P.activation_std([1.0, 2.0], logy="yes"), "activation_std: logy must be True or False", TypeError),
    (lambda: P.training_curves(5), "training_curves: runs must be a non-empty dict", TypeError),
    (lambda: P.training_curves({"a": {"loss": [1.0]}}, logy=1), "training_curves: logy", TypeError),
    (lambda: P.schedules({"a": lambda t: 0.1}, steps=0), "schedules: steps must be a positive integer", ValueError),
    (lambda: P.seed_spread({"a": []}, "loss"), r"seed_spread: values\['a'\] must be at least one value", ValueError),
    (lambda: P.seed_spread([1.0], "loss"), "seed_spread: values must be a non-empty dict", TypeError),
    (lambda: P.seed_spread({"a": [1.0]}, "loss", reference=float("nan")), "seed_spread: reference", ValueError),
    (lambda: P.bar_comparison([1.0], "loss"), "bar_comparison: values must be a non-empty dict", TypeError),
    (lambda: P.bar_comparison({"a": 1.0}, "loss", logy="no"), "bar_comparison: logy", TypeError),
])
def test_plot_arguments_are_checked_and_named(call, match, error):
    with pytest.raises(error, match=match):
        call()
    plt.close("all")


def _f(x, y):
    return x * y


# ----- wrong kinds inside containers, mismatched lengths, empty inputs (issue 17, round 5) ----------
@pytest.mark.parametrize("call, match, error", [
    (lambda: P.training_curves({"a": {"loss": "abc"}}), r"training_curves: runs\['a'\]\['loss'\] must be an array",
     TypeError),
    (lambda: P.training_curves({"a": {"loss": [[1, 2], [3, 4]]}}), r"runs\['a'\]\['loss'\] must be 1-D", ValueError),
    (lambda: P.training_curves({"a": {"loss": [1, 2], "steps": [0, 1, 2]}}), r"len\(runs\['a'\]\['steps'\]\)",
     ValueError),
    (lambda: P.training_curves({"a": {"loss": [1, 2], "diverged_at": "x"}}), r"runs\['a'\]\['diverged_at'\]",
     TypeError),
    (lambda: P.seed_spread({"a": ["x"]}, "y"), r"seed_spread: values\['a'\] must be an array of real", TypeError),
    (lambda: P.seed_spread({"a": [1, 2]}, 3), "seed_spread: ylabel must be a string", TypeError),
    (lambda: P.bar_comparison({"a": "x"}, "y"), r"bar_comparison: values\['a'\] must be a number", TypeError),
    (lambda: P.bar_comparison({"a": None}, "y"), r"bar_comparison: values\['a'\] must be a number", TypeError),
    (lambda: P.bar_comparison({"a": [1, 2]}, "y"), r"bar_comparison: values\['a'\] must be a number", TypeError),
    (lambda: P.layer_histograms([["a"]]), r"layer_histograms: values\[0\] must be an array of real", TypeError),
    (lambda: P.update_ratio(np.ones((3, 2)), steps=[0, 1]), r"update_ratio: len\(steps\) must be one step per row",
     ValueError),
    (lambda: P.update_ratio(np.ones((3, 2)), labels="ab"), "update_ratio: labels must be a list of strings", TypeError),
    (lambda: P.gradient_flow([]), "gradient_flow: values must be non-empty", ValueError),
    (lambda: P.jacobian_spectrum([]), "jacobian_spectrum: values must be non-empty", ValueError),
    (lambda: P.loss_surface(_f, (0,), (0, 1)), r"loss_surface: xlim must be a pair of numbers", ValueError),
    (lambda: P.loss_surface(_f, (0, 1), (0, np.nan)), r"loss_surface: ylim\[1\] must be a finite number", ValueError),
    (lambda: P.loss_surface(_f, "ab", (0, 1)), "loss_surface: xlim must be a pair of numbers", TypeError),
    (lambda: P.loss_surface(3, (0, 1), (0, 1)), r"loss_surface: f must be a function f\(x, y\)", TypeError),
    (lambda: P.loss_surface(_f, (0, 1), (0, 1), [[0, 0], [1, 1]]), "loss_surface: trajectories must be None or a dict",
     TypeError),
    (lambda: P.colors(-1), "colors: n must be a non-negative integer", ValueError),
])
def test_bad_values_inside_containers_are_named(call, match, error):
    with pytest.raises(error, match=match):
        call()
    plt.close("all")


@pytest.mark.parametrize("draw", [lambda ax: P.gradient_flow([1.0, 2.0], ax=ax),
                                  lambda ax: P.training_curves({"a": {"loss": [1.0]}}, ax=ax),
                                  lambda ax: P.loss_surface(lambda x, y: x * y, (0, 1), (0, 1), ax=ax)])
def test_an_ax_that_is_not_an_axes_is_named_by_the_picture_called(draw):
    """One check of `ax` (plots.check_axes), naming the function the user called."""
    with pytest.raises(TypeError, match=r"^(gradient_flow|training_curves|loss_surface): ax must be None or a "
                                        r"matplotlib Axes, got 'axes'"):
        draw("axes")


def test_log_scale_needs_an_axes_and_per_layer_series_must_be_numbers():
    with pytest.raises(TypeError, match="log_scale: ax must be a matplotlib Axes, got None"):
        P.log_scale(None)
    with pytest.raises(TypeError, match=r"gradient_flow: values\['a'\] must be an array of real numbers"):
        P.gradient_flow({"a": ["x", "y"]})
    with pytest.raises(ValueError, match=r"activation_std: values.shape must be a 1-D array"):
        P.activation_std(np.ones((2, 2)))
    with pytest.raises(TypeError, match="training_curves: ax must be None or two Axes"):
        P.training_curves({"a": {"loss": [1.0], "accuracy": [0.5]}}, metric="both", ax=P.subplots()[1])


def test_valid_edge_cases_still_draw():
    """Reversed limits invert the axis; matching steps and labels are used as given."""
    ax = P.loss_surface(_f, (1, -1), (0, 1), resolution=5).axes[0]
    assert ax.get_xlim() == (1.0, -1.0)
    ax = P.update_ratio(np.ones((3, 2)), labels=["a", "b"], steps=[0, 5, 10]).axes[0]
    assert list(ax.lines[0].get_xdata()) == [0, 5, 10]
    ax = P.training_curves({"a": {"loss": [1.0, 2.0], "steps": [3, 4], "diverged_at": 4}}).axes[0]
    assert list(ax.lines[0].get_xdata()) == [3, 4] and any("step 4" in t.get_text() for t in ax.texts)
    plt.close("all")
