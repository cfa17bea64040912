"""Interactive explorers: controls, a status line and a figure that redraws when a control moves.

Every explorer is written down once, as an `ExplorerSpec` in its topic module of
`gradcourse.experiments` (compute, draw, describe and the controls); `experiments.EXPLORERS`
lists them and `build(name)` turns a spec into an `Explorer`:
    compute(**settings) -> result      (tested without widgets)
    draw(result) -> Figure             (the topic module's plot_... function)
    describe(result) -> str            (a one-line, rounded summary)
The figure is shown in an `ipywidgets.Image`, so redrawing sends no cell output (nbval and
notebook files stay stable). A control that has no effect in the current setting is disabled.
A move redraws into the same Figure and Axes (`plots.reusing`) and prints the PNG with the
figure's own Agg canvas at 1x (`figure_png`): a slider move to the new picture costs about half
of what a new figure and a retina PNG cost (`benchmarks/bench_explorers.py` times every explorer).

Before a notebook has run, a reader sees the explorer's picture: its display carries the
widget view, a PNG of the current figure and a short text (`.ci/run_notebooks.py` keeps only
the last two in the saved file; a live kernel shows the widget).
"""
import base64
import inspect
import io
import math
import time

import ipywidgets as W
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import experiments, plots, validation

EXPLORER_CSS_CLASS = "gradcourse-explorer"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Explorer:
    """Controls + status line + figure. `set(**values)` moves controls from code (one redraw).

    `figure` is always a matplotlib Figure: the current picture, or a message when the setting
    failed to compute. `result` is the last result (None after a failure), `summary` its line.
    """

    def __init__(self, spec, values):
        self.spec = spec
        self.controls = {control.name: make_control(control, values[control.name]) for control in spec.controls}
        self.result = self.figure = None
        self.message = ""
        self._holding = False
        self.status = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        header = W.HTML(f"<b>{spec.title}</b><br><i>{spec.question}</i>")
        control_box = W.GridBox(list(self.controls.values()),
                                layout=W.Layout(grid_template_columns="repeat(2, 50%)"))
        self.widget = W.VBox([header, control_box, self.status, self.image])
        self.widget.add_class(EXPLORER_CSS_CLASS)
        for name, control in self.controls.items():
            control.observe(self._on_preset(name) if name in spec.presets else self._on_change, names="value")
        self.refresh()

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Move several controls at once from code, redraw once, and return the summary.

        A control with a preset (the race's surface) first moves the controls it presets;
        the values given win over the preset."""
        _check_values(self.spec, values, "Explorer.set")
        for name, preset in self.spec.presets.items():
            if name in values:
                values = {**preset(values[name]), **values}
        self._holding = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self.refresh()
        return self.summary

    @property
    def summary(self):
        return self.message if self.result is None else self.spec.describe(self.result)

    def refresh(self):
        """Recompute and redraw; a failure becomes a readable status line, never a traceback."""
        self._enable_relevant_controls()
        self.status.value = "<span style='color:#666'>computing…</span>"
        start = time.perf_counter()
        try:
            result = self.spec.compute(**self.values)
        except (ArithmeticError, ValueError) as error:
            self.result, self.message = None, str(error)
            self.status.value = f"<span style='color:#b00'>⚠ {error}</span>"
            self._show(plots.message(error))
            return
        self.result, self.message = result, ""
        with plots.reusing(self.figure):  # the same Figure and Axes: their ticks are not rebuilt
            figure = self.spec.draw(result)
        self._show(figure)
        elapsed = 1e3 * (time.perf_counter() - start)
        self.status.value = f"<span style='color:#666'>{self.spec.describe(result)} ({elapsed:.0f} ms)</span>"

    def _show(self, figure):
        self.figure = figure
        self.image.value = figure_png(figure)
        self.image.width = str(round(figure.get_figwidth() * plots.DPI))

    def _enable_relevant_controls(self):
        values = self.values
        for control in self.spec.controls:
            self.controls[control.name].disabled = not control.is_active(values)

    def _on_change(self, change):
        if not self._holding:
            self.refresh()

    def _on_preset(self, name):
        def on_change(change):
            if not self._holding:  # moved by hand: one redraw with the preset values
                self.set(**{name: change["new"]})
        return on_change

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget view for a live kernel, plus a PNG of the figure and a fixed text for a
        notebook read before it runs (and for nbval, which compares only the text)."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        bundle["text/plain"] = self.spec.text()
        return bundle, {"image/png": {"width": int(self.image.width)}}


EXPLORER_DPI = plots.DPI  # one image pixel per screen pixel at the width shown: sharp, and the
#                           PNG costs a third less than a retina one (benchmarks/bench_explorers.py)


def figure_png(figure, dpi=EXPLORER_DPI):
    """The PNG bytes of a matplotlib Figure, rendered by Agg at `dpi`.

    Printed by the figure's own Agg canvas, kept between calls: `savefig` would make a new canvas
    and renderer every time (so matplotlib's text-size cache, kept per renderer, would start
    empty) and draw the figure twice (once to lay it out); this lays it out and draws it once."""
    validation.require(isinstance(figure, Figure), "figure", figure, "a matplotlib Figure", "figure_png", TypeError)
    validation.positive("dpi", dpi, "figure_png")
    if dpi != figure.dpi:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


# ----- from a Control to an ipywidgets control ----------------------------------------------------
def make_control(control, value):
    """The ipywidgets control for a `spec.Control`, starting at `value`."""
    common = dict(description=control.label, style={"description_width": "initial"}, layout=W.Layout(width="95%"))
    slider = dict(continuous_update=control.continuous, **common)
    if control.fmt:
        slider["readout_format"] = control.fmt
    if control.kind == "log":
        return W.FloatLogSlider(value=value, min=math.log10(control.low), max=math.log10(control.high),
                                step=control.step, **slider)
    if control.kind == "int":
        return W.IntSlider(value=value, min=control.low, max=control.high, step=control.step, **slider)
    if control.kind == "float":
        return W.FloatSlider(value=value, min=control.low, max=control.high, step=control.step, **slider)
    if control.kind == "choice":
        return W.Dropdown(options=control.options, value=value, **common)
    if control.kind == "multi":
        return W.SelectMultiple(options=control.options, value=tuple(value), rows=len(control.options), **common)
    return W.Checkbox(value=value, indent=False, **common)


def build(name, **values):
    """A new `Explorer` for `experiments.EXPLORERS[name]`, its controls at the spec's defaults
    except the `values` given (checked against the spec: a wrong name is an error)."""
    rule = "the name of an explorer, one of " + ", ".join(map(repr, sorted(experiments.EXPLORERS)))
    validation.require(isinstance(name, str), "name", name, rule, "build", TypeError)
    validation.require(name in experiments.EXPLORERS, "name", name, rule, "build")
    spec = experiments.EXPLORERS[name]
    values = {key: value for key, value in values.items() if value is not None}  # None: the default
    _check_values(spec, values, f"{name}_explorer")
    for preset_name, preset in spec.presets.items():
        if preset_name in values:
            values = {**preset(values[preset_name]), **values}
    return Explorer(spec, {**spec.defaults(), **values})


def _check_values(spec, values, where):
    """Each of `values` ({control name: value}) checked against the spec's controls: a name that is
    no control is a TypeError (as Python raises for an unexpected keyword argument)."""
    names = tuple(control.name for control in spec.controls)
    for name, value in values.items():
        validation.require(name in names, "control", name, "one of " + ", ".join(map(repr, names)), where, TypeError)
        _check_value(spec.control(name), value, where)


def _check_value(control, value, where):
    """A menu takes only its entries, a checkbox only True or False, a slider only a number of its
    kind (a value outside its range is clipped, as ipywidgets does)."""
    if control.kind == "choice":
        validation.choice(control.name, value, control.options, where)
    elif control.kind == "multi":
        validation.require(not isinstance(value, str) and hasattr(value, "__iter__"), control.name, value,
                           "a list of entries", where, TypeError)
        for entry in value:
            validation.choice(control.name, entry, control.options, where)
    elif control.kind == "bool":
        validation.boolean(control.name, value, where)
    elif control.kind == "int":
        validation.integer(control.name, value, "an integer", where)
    else:
        validation.number(control.name, value, where=where)


def _maker(name):
    """The public function `<name>_explorer(**values)` for one registry entry."""
    spec = experiments.EXPLORERS[name]

    def make(**values):
        return build(name, **values)

    make.__name__ = make.__qualname__ = f"{name}_explorer"
    make.__doc__ = f"{spec.title}: {spec.question} (chapter {spec.chapter}; controls from `experiments.EXPLORERS`)"
    make.__signature__ = inspect.Signature([inspect.Parameter(c.name, inspect.Parameter.KEYWORD_ONLY, default=c.default)
                                            for c in spec.controls])
    return make


chain_explorer = _maker("chain")
depth_explorer = _maker("depth")
schedule_explorer = _maker("schedule")
residual_explorer = _maker("residual")
adam_bias_explorer = _maker("adam_bias")
optimizer_race_explorer = optimizer_race = _maker("optimizer_race")
clipping_explorer = _maker("clipping")
remedy_explorer = _maker("remedy")
rnn_explorer = _maker("rnn")
isometry_explorer = _maker("isometry")
lr_finder_explorer = _maker("lr_finder")


def explorer_names():
    """The explorers this module offers (each a function returning an `Explorer`)."""
    return [name for name, value in globals().items() if name.endswith("_explorer") and callable(value)]
