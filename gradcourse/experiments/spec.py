"""What an explorer is, written down as data: its controls and its three functions.

An explorer is a compute function (settings -> result), a draw function (result -> Figure) and
a one-line `describe` (result -> str), with a list of controls. Each topic module keeps its
explorer's `ExplorerSpec` next to the functions it names; `gradcourse.experiments.EXPLORERS`
collects them, and `gradcourse.widgets` turns each `Control` into an ipywidgets control. The
spec holds no widget, so the experiments can be tested and benchmarked without a browser.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import validation

KINDS = ("int", "float", "log", "choice", "multi", "bool")


@dataclass(frozen=True)
class Control:
    """One control of an explorer.

    name       the compute function's argument it sets
    label      what the student reads beside it (say the unit: "blocks", "weight layers")
    kind       "int" / "float" slider, "log" slider (for ranges that span decades: its
               positions are `low * 10^(k * step)`), "choice" (a menu of `options`), "multi"
               (several of `options`) or "bool" (a checkbox)
    default    the value it starts from
    low, high  the range of a slider; `step` its step (in decades for "log")
    options    the entries of a menu
    fmt        how the value is shown, a d3-format string (".4" trims trailing zeros: 0.999, 0.9, 1e-08)
    continuous redraw while dragging (only for computations of a few milliseconds)
    active     a function of all the current values -> False when this control has no effect
               in that setting (the widget disables it), e.g. `lambda v: v["residual"]`
    """

    name: str
    label: str
    kind: str
    default: object
    low: float = None
    high: float = None
    step: float = None
    options: tuple = ()
    fmt: str = None
    continuous: bool = False
    active: object = None

    def __post_init__(self):
        where = f"Control {self.name!r}"
        validation.choice("kind", self.kind, KINDS, where)
        if self.kind == "log":
            low = validation.positive("low", self.low, where)
            validation.require(validation.number("high", self.high, where=where) > low, "high", self.high,
                               f"a number > low = {low:g} (a log slider needs 0 < low < high)", where)

    def is_active(self, values):
        """False when the control has no effect with these values (see `active`)."""
        return True if self.active is None else bool(self.active(values))

    def positions(self):
        """The values a slider can take (for tests: can it reach what the text recommends?)."""
        if self.kind == "log":
            decades = np.arange(np.log10(self.low), np.log10(self.high) + 1e-9, self.step)
            return 10.0 ** decades
        if self.kind in ("int", "float"):
            return np.arange(self.low, self.high + self.step / 2, self.step)
        return np.array(self.options)


@dataclass(frozen=True)
class ExplorerSpec:
    """One explorer: what it computes and draws, its controls, and how it is tested and timed.

    name, title, question   registry key ("depth"), heading, the question its plot answers
    compute, draw, describe settings -> result, result -> Figure, result -> one rounded line
    controls                the `Control`s, in display order
    presets                 control name -> function(value) -> other values to move with it
                            (the race's surface menu moves lr, betas and steps)
    small                   settings that make it fast, for the headless tests
    move                    (control, value): a change that must redraw, for the tests
    variants                label -> settings: other cases the tests and the benchmark visit
    budget_ms               how long a slider move may take to the new picture: compute + draw
                            + PNG (AT_INIT or TRAINS; benchmarks/bench_explorers.py)
    chapter                 the chapter that builds it
    """

    name: str
    title: str
    question: str
    compute: object
    draw: object
    describe: object
    controls: tuple
    move: tuple
    small: dict = field(default_factory=dict)
    presets: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)
    budget_ms: int = 300
    chapter: str = ""

    def defaults(self):
        """{control name: default value}."""
        return {control.name: control.default for control in self.controls}

    def control(self, name):
        for control in self.controls:
            if control.name == name:
                return control
        raise KeyError(f"explorer {self.name!r} has no control {name!r}; it has "
                       f"{[c.name for c in self.controls]}")

    def text(self):
        """What a notebook shows as text where the explorer is (deterministic, for nbval)."""
        return f"{self.title} (explorer) — run the notebook to move its controls"


AT_INIT = 300    # ms, slider move to new picture (compute + draw + PNG): explorers that measure at init
TRAINS = 1000    # ms, the same for the explorers that train something
