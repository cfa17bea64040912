"""How the forward signal of a residual stack grows, block by block, at initialisation and in training.

A residual `nn.MLP` computes x_{l+1} = x_l + s F_l(x_l) for its blocks l = 1, ..., L. Call

    g_l = ‖s F_l(x_l)‖ / ‖x_l‖        (Frobenius norms over a batch)

block l's **branch gain**. When the branch output is uncorrelated with x_l (zero-mean weights at
initialisation), ‖x_{l+1}‖² ≈ ‖x_l‖² (1 + g_l²), so the stack multiplies the norm of its input by
about ∏_l sqrt(1 + g_l²); with Kaiming initialisation g_l² ≈ v = 2 and that is (1 + v)^(L/2).
Once training has aligned the branches with x_l, the growth can exceed that product.

Two different things can therefore make a residual stack's output huge: the growth it starts
with, and what the updates do to the branches. `forward_growth(model, x)` measures the signal at
one moment; `GrowthRecorder` measures it before every update of a run, together with how far the
branch weights have moved, ‖W_t - W_0‖ / ‖W_0‖ over all branch weight matrices:

    recorder = GrowthRecorder(model, X[:256])
    history = training.fit(model, X, y, optimizer, steps, flow=recorder)   # fit calls record(lr)
    recorder.history["growth"], recorder.history["mean_gain"], recorder.history["weight_change"]
"""
from dataclasses import dataclass

import numpy as np

from . import nn, validation
from .autograd import Tensor, no_grad, tensor


@dataclass
class ForwardGrowth:
    """The forward signal of a residual stack on one batch.

    `std[0]` is the std of the stack's input (the input layer's output), `std[l]` that of block
    l's output (l = 1, ..., L); `gain[l - 1]` is block l's branch gain ‖s F_l(x_l)‖ / ‖x_l‖.
    """

    std: np.ndarray
    gain: np.ndarray

    @property
    def growth(self):
        """std of the last block's output / std of the first block's input (0 if the output is 0)."""
        return _ratio(self.std[-1], self.std[0])

    @property
    def uncorrelated_growth(self):
        """∏_l sqrt(1 + g_l²): the growth if every branch output were uncorrelated with its input."""
        return float(np.prod(np.sqrt(1.0 + self.gain ** 2)))


def _ratio(numerator, denominator):
    """numerator / denominator, except 0 when the numerator is 0: a signal that is zero has not
    grown, even from a zero input (all-zero parameters), so 0 / 0 is reported as 0, not nan.
    A non-zero numerator over 0 stays inf, and nan or inf values propagate as numpy divides them."""
    return 0.0 if numerator == 0 else float(np.float64(numerator) / np.float64(denominator))


def _check_residual(model, where):
    """`model` unless it is not a Module (TypeError) or has no residual block (ValueError)."""
    nn.check_module("model", model, where)
    validation.require(getattr(model, "residual", False) and getattr(model, "blocks", None), "model", model,
                       "an nn.MLP built with residual=True and at least one block", where)
    return model


def _batch(x, where):
    """`x` as a finite float array of shape (batch, features) with at least one example."""
    array = validation.real_array("x", x.data if isinstance(x, Tensor) else x, where, finite=True)
    validation.require(array.ndim == 2 and array.shape[0] > 0, "x", x,
                       "a non-empty batch of shape (batch, features)", where)
    return array


def forward_growth(model, x):
    """`ForwardGrowth` of the residual `nn.MLP` `model` on the batch `x` (no graph is built).

    Runs the stack block by block, x_{l+1} = x_l + s F_l(x_l), exactly as `model.forward` does,
    recording each block's output std and branch gain g_l = ‖s F_l(x_l)‖ / ‖x_l‖.
    `x` must be finite (a ValueError names the first nan or inf). A ratio whose numerator is 0
    is 0 (a zero branch has gain 0 even on a zero signal, as a model whose parameters are all
    zero gives), never the nan of 0 / 0.
    """
    _check_residual(model, "forward_growth")
    x = _batch(x, "forward_growth")
    with no_grad():
        h = model.input_layer(tensor(x)).data
        stds, gains = [h.std()], []
        for block in model.blocks:
            branch = block.block(tensor(h)).data * block.scale
            gains.append(_ratio(np.linalg.norm(branch), np.linalg.norm(h)))
            h = h + branch
            stds.append(h.std())
    return ForwardGrowth(np.array(stds, dtype=float), np.array(gains, dtype=float))


def branch_weights(model):
    """The weight matrices inside the residual branches (biases and norm parameters excluded)."""
    _check_residual(model, "branch_weights")
    return [p for block in model.blocks for p in block.block.parameters() if p.data.ndim == 2]


class GrowthRecorder:
    """Record a residual stack's forward signal on a fixed probe batch before every update.

    Pass it as `flow` to `training.fit`: fit calls `record(lr)` after each backward pass and
    before the update, so record t (t = 0, 1, ...) describes the weights after t updates, the
    ones that produced step t + 1's loss. `history` maps to arrays with one entry per record:

      growth         std of the last block's output / std of the first block's input
      uncorrelated_growth   ∏ sqrt(1 + g_l²), what the gains alone would give (see the module docstring)
      mean_gain, max_gain   mean and largest branch gain g_l over the blocks
      weight_change  ‖W_t - W_0‖ / ‖W_0‖ over all branch weight matrices together (0 at record 0,
                     and 0 while nothing moved even if W_0 = 0)
      lr             the learning rate passed to `record`
    """

    def __init__(self, model, x):
        _check_residual(model, "GrowthRecorder")
        self.model, self.x = model, _batch(x, "GrowthRecorder")
        self.weights = branch_weights(model)
        self.initial = [w.data.copy() for w in self.weights]
        self._initial_norm = np.sqrt(sum(np.sum(w ** 2) for w in self.initial))
        self._rows = []

    def record(self, lr=None, step=None):
        """Append one record (see the class docstring); `lr` is stored, `step` is accepted for
        `training.fit`'s flow protocol and not used."""
        if lr is not None:
            lr = validation.non_negative("lr", lr, "GrowthRecorder.record")
        signal = forward_growth(self.model, self.x)
        moved = np.sqrt(sum(np.sum((w.data - w0) ** 2) for w, w0 in zip(self.weights, self.initial)))
        self._rows.append((signal.growth, signal.uncorrelated_growth, float(np.mean(signal.gain)),
                           float(np.max(signal.gain)), _ratio(moved, self._initial_norm),
                           np.nan if lr is None else float(lr)))

    @property
    def history(self):
        names = ("growth", "uncorrelated_growth", "mean_gain", "max_gain", "weight_change", "lr")
        columns = np.array(self._rows, dtype=float).reshape(-1, len(names)).T
        return dict(zip(names, columns))
