"""Interactive explorers: controls, a status line and a figure that redraws when a control moves.

Every explorer is three plain functions glued together by `Explorer`:
    compute(**settings) -> result      (in `gradcourse.experiments`, tested without widgets)
    draw(result) -> Figure             (built with `gradcourse.plots`)
    describe(result) -> str            (a one-line, rounded summary)
The figure is shown in an `ipywidgets.Image`, so redrawing sends no cell output (nbval and
notebook files stay stable). `explorer.figure` is the current figure as a matplotlib Figure:
show it in the next cell so that readers without a live kernel still see the picture.
"""
import io
import time

import ipywidgets as W

from . import experiments, plots

EXPLORER_CSS_CLASS = "gradcourse-explorer"


class Explorer:
    """Controls + status line + figure. `set(**values)` moves controls from code (one redraw)."""

    def __init__(self, title, controls, compute, draw, describe, question=""):
        self.controls = controls
        self._compute, self._draw, self._describe = compute, draw, describe
        self.result = self.figure = None
        self.message = ""
        self._holding = False
        self.status = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        header = W.HTML(f"<b>{title}</b>" + (f"<br><i>{question}</i>" if question else ""))
        control_box = W.GridBox(list(controls.values()),
                                layout=W.Layout(grid_template_columns="repeat(2, 50%)"))
        self.widget = W.VBox([header, control_box, self.status, self.image])
        self.widget.add_class(EXPLORER_CSS_CLASS)
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Move several controls at once from code, redraw once, and return the summary."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; this explorer has {sorted(self.controls)}")
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
        return self.message if self.result is None else self._describe(self.result)

    def refresh(self):
        """Recompute and redraw; a failure becomes a readable status line, never a traceback."""
        self.status.value = "<span style='color:#666'>computing…</span>"
        start = time.perf_counter()
        try:
            result = self._compute(**self.values)
        except (ArithmeticError, ValueError) as error:
            self.result, self.message = None, str(error)
            self.status.value = f"<span style='color:#b00'>⚠ {error}</span>"
            return
        self.result, self.message = result, ""
        self.figure = self._draw(result)
        self.image.value = figure_png(self.figure)
        elapsed = 1e3 * (time.perf_counter() - start)
        self.status.value = f"<span style='color:#666'>{self._describe(result)} ({elapsed:.0f} ms)</span>"

    def _on_change(self, change):
        if not self._holding:
            self.refresh()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)


def figure_png(figure):
    """The PNG bytes of a matplotlib Figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _slider(description, value, low, high, step=1, continuous=False, log=False):
    """An integer, float or log-scale slider that recomputes when released (or continuously)."""
    style, layout = {"description_width": "initial"}, W.Layout(width="95%")
    common = dict(description=description, continuous_update=continuous, style=style, layout=layout)
    if log:
        return W.FloatLogSlider(value=value, min=low, max=high, step=step, **common)
    if isinstance(value, int) and isinstance(step, int):
        return W.IntSlider(value=value, min=low, max=high, step=step, **common)
    return W.FloatSlider(value=value, min=low, max=high, step=step, **common)


def _dropdown(description, options, value):
    return W.Dropdown(description=description, options=options, value=value,
                      style={"description_width": "initial"}, layout=W.Layout(width="95%"))


# ----- chapter 2: the scalar chain ------------------------------------------------------------
def chain_explorer(depth=30, weight=1.0, preactivation=0.0, activation="sigmoid"):
    """How fast does the gradient shrink along a chain of scalar units? (w f'(z))^L, measured."""
    controls = {
        "depth": _slider("depth L", depth, 1, 100),
        "weight": _slider("weight w", weight, -8.0, 8.0, 0.1, continuous=True),
        "preactivation": _slider("pre-activation z", preactivation, -6.0, 6.0, 0.1, continuous=True),
        "activation": _dropdown("activation f", experiments.ACTIVATIONS, activation),
    }
    return Explorer("The scalar chain", controls, experiments.scalar_chain, plots.chain,
                    _describe_chain, question="For which w and z does the gradient survive 30 layers?")


def _describe_chain(result):
    return (f"factor per layer |w f'(z)| = {result.factor:.3g}; "
            f"gradient at the input = {result.measured[-1]:.3g} of the output's")


# ----- chapter 3: Adam's bias correction ---------------------------------------------------------
def adam_bias_explorer(steps=50, beta1=0.9, beta2=0.999, noise=0.0):
    """Why Adam divides by (1 - beta^t): the moment estimates with and without the correction."""
    controls = {
        "steps": _slider("steps", steps, 5, 500, 5),
        "beta1": _slider("beta1", beta1, 0.0, 0.99, 0.01, continuous=True),
        "beta2": _slider("beta2", beta2, 0.9, 0.9999, 0.0001, continuous=True),
        "noise": _slider("gradient noise", noise, 0.0, 3.0, 0.1, continuous=True),
    }
    return Explorer("Adam's bias correction", controls, experiments.adam_moments, plots.adam_moments,
                    _describe_adam, question="How large is Adam's first step, with and without the correction?")


def _describe_adam(result):
    return (f"first step: {result.step_corrected[0]:.3g} lr corrected, "
            f"{result.step_uncorrected[0]:.3g} lr uncorrected")


def explorer_names():
    """The explorers this module offers (each a function returning an `Explorer`)."""
    return [name for name, value in globals().items() if name.endswith("_explorer") and callable(value)]




# ===== part A: depth, schedules, optimiser race (add above this line) =====


# ===== part B: residual, clipping, remedies, recurrence, isometry, lr finder (add above this line) =====
