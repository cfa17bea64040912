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
import numpy as np

from . import ablation, experiments, plots

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
            self.figure = plots.message(error)
            self.image.value = figure_png(self.figure)
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
            f"gradient reaching the first unit |dh_L/dh_0| = {result.measured[-1]:.3g}")


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


# ----- chapters 1-3: a deep network at initialisation -------------------------------------------
def depth_explorer(depth=30, width=64, activation="sigmoid", init="xavier_normal", weight_std=1.0,
                   residual=False, branch_scale=1.0, norm="none"):
    """Gradient and activation std per layer of a deep MLP at initialisation, for any recipe."""
    controls = {
        "depth": _slider("depth (hidden-to-hidden layers)", depth, 1, 100),
        "width": _slider("width", width, 8, 256, 8),
        "activation": _dropdown("activation", experiments.ACTIVATIONS, activation),
        "init": _dropdown("initialisation", experiments.INITS, init),
        "weight_std": _slider("weight std (init 'normal')", weight_std, 0.05, 10.0, 0.05),
        "residual": W.Checkbox(value=residual, description="residual connections"),
        "branch_scale": _slider("branch scale (residual)", branch_scale, 0.0, 2.0, 0.05),
        "norm": _dropdown("normalisation", experiments.NORMS, norm),
    }
    return Explorer("A deep network at initialisation", controls, experiments.depth_profile,
                    plots.depth_profile, _describe_depth,
                    question="Which recipes keep the gradient alive from the last layer to the first?")


def _describe_depth(result):
    last = len(result.layer)
    return (f"layer 1 / layer {last}: gradient reaching the layer |dL/dh| {result.ratio:.3g}, "
            f"weight gradient |dL/dW| {result.weight_ratio:.3g}; "
            f"activation std at layer {last} = {result.act_std[-1]:.3g}")


# ----- learning-rate schedules -------------------------------------------------------------------
def schedule_explorer(lr=1.0, steps=100, gamma=0.97, power=1.0, warmup=10, step_size=25,
                      step_gamma=0.5, schedules=experiments.DEFAULT_LR_SCHEDULES):
    """Learning-rate schedules side by side: their curves and a short training run with each."""
    controls = {
        "schedules": W.SelectMultiple(options=experiments.LR_SCHEDULES, value=tuple(schedules),
                                      rows=len(experiments.LR_SCHEDULES), description="schedules"),
        "lr": _slider("lr (peak)", lr, -3, 1, 0.1, log=True),
        "steps": _slider("steps", steps, 10, 500, 10),
        "warmup": _slider("warm-up steps", warmup, 1, 100),
        "gamma": _slider("exponential: gamma", gamma, 0.8, 1.0, 0.005),
        "power": _slider("polynomial: power", power, 0.25, 4.0, 0.25),
        "step_size": _slider("step: every k steps", step_size, 1, 200),
        "step_gamma": _slider("step: multiply by", step_gamma, 0.05, 1.0, 0.05),
    }
    return Explorer("Learning-rate schedules", controls, experiments.schedule_comparison,
                    plots.schedule_comparison, _describe_schedules,
                    question="Which schedule reaches the lowest loss in the same number of steps, and why?")


def _describe_schedules(result):
    parts = [f"{name} diverged at step {result.diverged_at[name]}" if result.diverged_at[name] is not None
             else f"{name} {loss[-1]:.3g}" + (" (above its start)" if loss[-1] > loss[0] else "")
             for name, loss in result.loss.items()]
    return "final loss: " + ", ".join(parts)


# ----- the optimiser race ------------------------------------------------------------------------
class _RaceExplorer(Explorer):
    """An Explorer whose surface menu also moves lr, betas and steps to that surface's defaults."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.controls["surface"].unobserve(self._on_change, names="value")
        self.controls["surface"].observe(self._on_surface, names="value")

    def set(self, **values):
        if "surface" in values:  # the surface's defaults first, then the values given
            values = {**experiments.RACE_DEFAULTS[values["surface"]], **values}
        return super().set(**values)

    def _on_surface(self, change):
        if not self._holding:  # moved by hand: one redraw with the new surface's defaults
            self.set(**experiments.RACE_DEFAULTS[change["new"]])


def optimizer_race_explorer(surface="rosenbrock", lr=None, beta1=None, beta2=None, eps=1e-8,
                            momentum=0.9, weight_decay=0.01, steps=None):
    """SGD, momentum, RMSprop, Adam, AdamW and AMSGrad from one start, with one lr (None: the
    surface's default, `experiments.RACE_DEFAULTS`)."""
    given = dict(lr=lr, beta1=beta1, beta2=beta2, steps=steps)
    start = {name: experiments.RACE_DEFAULTS[surface][name] if value is None else value
             for name, value in given.items()}
    controls = {
        "surface": _dropdown("surface", tuple(experiments.SURFACES), surface),
        "lr": _slider("lr", start["lr"], -4, 1, 0.1, log=True),
        "beta1": _slider("beta1 (Adam family)", start["beta1"], 0.0, 0.99, 0.01),
        "beta2": _slider("beta2 (and RMSprop's alpha)", start["beta2"], 0.0, 0.9999, 0.0001),
        "eps": _slider("eps", eps, -10, 0, 1, log=True),
        "momentum": _slider("momentum (SGD)", momentum, 0.0, 0.99, 0.01),
        "weight_decay": _slider("weight decay (AdamW)", weight_decay, 0.0, 0.5, 0.01),
        "steps": _slider("steps", start["steps"], 10, 3000, 10),
    }
    return _RaceExplorer("The optimiser race", controls, experiments.optimizer_race,
                         plots.optimizer_race, _describe_race,
                         question="Who reaches the minimum first, and who never does?")


optimizer_race = optimizer_race_explorer


def _describe_race(result):
    if result.surface == "reddi":
        ends = ", ".join(f"{name} {path[-1, 0]:+.3g}" for name, path in result.path.items())
        return f"x after {len(next(iter(result.path.values()))) - 1} steps: {ends} (best point: -1)"
    parts = [f"{name} diverged at step {result.diverged_at[name]}" if result.diverged_at[name] is not None
             else f"{name} {gap[-1]:.2g}" for name, gap in result.gap.items()]
    return "f - f_min at the end: " + ", ".join(parts)


# ----- part B, chapter 4: residual connections, clipping, the remedies ------------------------------
def residual_explorer(depth=20, width=32, activation="relu", steps=100, lr=0.1, optimizer="sgd",
                      branch_scale=1.0):
    """A plain and a residual deep MLP trained alike on the digits: which one learns?"""
    controls = {
        "depth": _slider("depth (blocks)", depth, 2, 50),
        "width": _slider("width", width, 8, 64, 8),
        "activation": _dropdown("activation", ("relu", "tanh", "sigmoid"), activation),
        "steps": _slider("steps", steps, 20, 400, 20),
        "lr": _slider("learning rate", lr, -3, 0, 0.1, log=True),
        "optimizer": _dropdown("optimiser", experiments.OPTIMIZERS, optimizer),
        "branch_scale": _slider("branch scale s in x + s F(x)", branch_scale, 0.0, 2.0, 0.05),
    }
    return Explorer("Plain against residual", controls, experiments.residual_vs_plain,
                    plots.residual_training, _describe_residual,
                    question="At which depth does the plain net stop learning? Does the residual one?")


def _describe_residual(result):
    first_over_last = experiments.first_over_last
    return (f"final loss: plain {result.plain.final_loss():.3g}, residual {result.residual.final_loss():.3g}; "
            f"|dL/dh| at block 1 / last block at step 1: plain {first_over_last(result.plain_flow[0]):.2g}, "
            f"residual {first_over_last(result.residual_flow[0]):.2g}")


def clipping_explorer(weight_scale=1.5, threshold=1.0, steps=200, lr=0.01):
    """A deep linear net whose gradients explode, trained with and without gradient clipping."""
    controls = {
        "weight_scale": _slider("weight scale (gain per layer)", weight_scale, 0.5, 3.0, 0.05),
        "threshold": _slider("clipping threshold", threshold, -2, 2, 0.1, log=True),
        "steps": _slider("steps", steps, 20, 1000, 20),
        "lr": _slider("learning rate", lr, -4, 0, 0.1, log=True),
    }
    return Explorer("Gradient clipping", controls, experiments.clipping_runs, plots.clipping,
                    _describe_clipping, question="How large must the gain be before SGD blows up? "
                                                 "Does clipping rescue it?")


def _describe_clipping(result):
    plain = (result.unclipped.message if result.unclipped.diverged
             else f"final loss {result.unclipped.loss[-1]:.3g}")
    return (f"no clipping: {plain}; clipped at {result.threshold:.3g}: final loss "
            f"{result.clipped.loss[-1]:.3g} (largest total gradient norm |dL/dθ| before clipping "
            f"{max(result.clipped.grad_norm):.3g})")


def remedy_explorer(activation="sigmoid", init="normal", residual=False, optimizer="sgd",
                    schedule="constant", clipping=False, depth=20, steps=150, seed=0):
    """The naive recipe fails on the digits: switch the remedies on one at a time."""
    controls = {
        "activation": _dropdown("activation", ("sigmoid", "tanh", "relu"), activation),
        "init": _dropdown("initialisation", ("normal", "default", "xavier_normal", "kaiming_normal",
                                             "orthogonal"), init),
        "residual": _checkbox("residual connections", residual),
        "optimizer": _dropdown("optimiser", experiments.OPTIMIZERS, optimizer),
        "schedule": _dropdown("schedule", experiments.REMEDY_SCHEDULES, schedule),
        "clipping": _checkbox("clip the gradient norm at 1", clipping),
        "depth": _slider("depth (blocks)", depth, 2, 40),
        "steps": _slider("steps", steps, 10, 500, 10),
        "seed": _slider("seed (split, weights, batches)", seed, 0, 9),
    }
    return Explorer("Remedies, one at a time", controls, experiments.compare_with_naive,
                    lambda pair: plots.remedies(*pair), _describe_remedy,
                    question="Which single change rescues the naive network? Which pairs?")


def _checkbox(description, value):
    return W.Checkbox(description=description, value=value, indent=False, layout=W.Layout(width="95%"))


def _describe_remedy(pair):
    result, _ = pair
    steps = "never" if result.steps_to_target is None else f"at step {result.steps_to_target}"
    return (f"test accuracy {result.test_accuracy:.3f}; final loss (mean of the last "
            f"{ablation.FINAL_STEPS} steps) {ablation.final_loss(result):.3g}; "
            f"|dL/dh| first/last block at init {result.grad_ratio:.2g}; "
            f"loss below {result.target_loss:g} {steps}")


# ----- part B, chapter 5: recurrence and dynamical isometry ----------------------------------------
def rnn_explorer(length=50, hidden=32, cell="rnn", forget_bias=0.0, weight_scale=1.0):
    """How much gradient reaches each input step of an RNN or an LSTM, at initialisation."""
    controls = {
        "length": _slider("sequence length", length, 5, 200, 5),
        "hidden": _slider("hidden units", hidden, 4, 64, 4),
        "cell": _dropdown("cell", experiments.CELLS, cell),
        "forget_bias": _slider("LSTM forget-gate bias", forget_bias, -2.0, 5.0, 0.25, continuous=True),
        "weight_scale": _slider("recurrent weight scale", weight_scale, 0.0, 5.0, 0.1, continuous=True),
    }
    return Explorer("Gradients through time", controls, experiments.gradient_through_time,
                    plots.gradient_through_time, _describe_rnn,
                    question="Which forget-gate bias lets the LSTM carry the gradient across 100 steps?")


def _describe_rnn(result):
    return (f"{result.cell}, {len(result.t)} steps: |dL/dx_1| / |dL/dx_T| = {result.ratio:.3g}")


def isometry_explorer(depth=30, width=64, init="orthogonal", activation="tanh", gain=1.0):
    """The singular values of a deep net's input-output Jacobian: how far from an isometry?"""
    controls = {
        "depth": _slider("depth (blocks)", depth, 1, 100),
        "width": _slider("width", width, 8, 128, 8),
        "init": _dropdown("initialisation", experiments.ISOMETRY_INITS, init),
        "activation": _dropdown("activation", ("tanh", "linear", "relu"), activation),
        "gain": _slider("gain", gain, 0.1, 3.0, 0.05),
    }
    return Explorer("Dynamical isometry", controls, experiments.jacobian_isometry,
                    lambda result: plots.jacobian_spectrum({result.label: result.singular_values}),
                    _describe_isometry,
                    question="Which initialisation and gain keep every singular value near 1?")


def _describe_isometry(result):
    s = result.singular_values
    return f"singular values from {s.min():.3g} to {s.max():.3g} (condition number {s.max() / s.min():.3g})"


# ----- part B, chapter 6: the learning-rate range test -------------------------------------------
def lr_finder_explorer(optimizer="sgd", depth=4, steps=100, smooth=0.9):
    """Smith's learning-rate range test on the digits: raise the rate until the loss blows up.

    smooth=0.9 (not fastai's 0.98): over only 100 steps a 0.98 average lags ~50 steps behind.
    """
    controls = {
        "optimizer": _dropdown("optimiser", experiments.OPTIMIZERS, optimizer),
        "depth": _slider("depth (blocks)", depth, 1, 20),
        "steps": _slider("steps", steps, 20, 300, 10),
        "smooth": _slider("smoothing beta", smooth, 0.0, 0.99, 0.01),
    }
    return Explorer("Learning-rate range test", controls, experiments.lr_range_on_digits, plots.lr_range,
                    _describe_lr_range, question="How does the suggestion change with the optimiser?")


def _describe_lr_range(result):
    return (f"suggested lr {result.suggestion:.2g} (lowest loss at {result.min_loss_lr:.2g}, "
            f"steepest fall at {result.steepest_lr:.2g}); {result.message}")
