"""Case 5, for exercise 3.5: a run at a large learning rate whose gradients are clipped in every step.

Case 5 trains the network of cases 1 to 3 (64 -> 32 -> 32 -> 10, ReLU) on the digits with plain SGD
at the learning rate `CASE5_LR`, clipping the gradients' joint norm at `CASE5_MAX_NORM` in every
step. It fails, for a reason among `CAUSES`. `case5_training(seed, step, after_step)` runs it, with
its own step or with yours; `after_step(model, t)` sees the model after every step.
"""
from .. import optim
from ._runs import _finish, _mlp, _run, _step

__all__ = ["CASE5_LR", "CASE5_MAX_NORM", "case5_training", "case5_measure"]

CAUSE_DIGESTS = {5: "fc86fe5376fab171b83c64832855b2d5278271e355a06dbfb626098013e57b42"}
THRESHOLDS = {5: 0.9}

CASE5_LR = 5.0                              # case 5's learning rate
CASE5_MAX_NORM = 0.1                        # the joint gradient norm case 5 clips at


def _with_clipping(step):
    def clipped(model, optimizer, xb, yb):
        loss = step(model, optimizer, xb, yb)
        optim.clip_grad_norm_(model.parameters(), CASE5_MAX_NORM)
        return loss
    return clipped


_case5_step = _with_clipping(_step)
_case5_step.__name__ = _case5_step.__qualname__ = "_case5_step"


def _stops_at_a_non_finite_gradient(step):
    """`step`, giving a nan loss (which ends the run) where the optimiser refuses a nan or inf gradient."""
    def guarded(model, optimizer, xb, yb):
        try:
            return step(model, optimizer, xb, yb)
        except FloatingPointError:
            return float("nan")
    return guarded


def case5_training(seed=0, step=None, after_step=None):
    """Case 5 as it was run, with its own step function (or with `step(model, optimizer, xb, yb)`).

    SGD at lr = CASE5_LR, 200 steps of 64 digits. `after_step(model, t)`, if given, is called after
    every step t = 1, 2, ...: measure the model there, e.g. its parameters' `.data` and `.grad`.
    """
    model = _mlp(seed)
    step = _case5_step if step is None else step
    optimizer = optim.SGD(model.parameters(), lr=CASE5_LR)
    return _finish(model, _run(model, optimizer, seed, _stops_at_a_non_finite_gradient(step), after_step), seed)


def case5_measure(step, seeds=(0, 1, 2)):
    """Test accuracy of case 5 trained with `step(model, optimizer, xb, yb) -> loss`, one per seed."""
    return [case5_training(seed, step).test_accuracy for seed in seeds]
