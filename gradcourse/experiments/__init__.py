"""The measurements behind the chapters, one module per topic: pure functions from plain
arguments to small dataclasses of numpy arrays, tested without any widget.

| module       | chapter | what it measures                                                        |
|--------------|---------|-------------------------------------------------------------------------|
| `depth`      | 1, 2    | a deep MLP at init, block by block: both gradients, the forward spread |
|              |         | (deep_mlp, depth_profile, DepthResult; the depth explorer)              |
| `chain`      | 2       | the scalar chain: the gradient as a product (w f'(z))^L (chain explorer) |
| `graph`      | 2       | the computation graph one backward() walks (computation_graph)          |
| `schedules`  | 3a      | learning-rate schedules on one small net (schedule explorer)           |
| `residual`   | 3b      | plain against residual nets trained alike (residual explorer)           |
| `adam`       | 3c      | Adam's moments and bias correction, the optimiser race, Reddi et al.'s  |
|              |         | problem, what a step costs (adam_bias and optimizer_race explorers)     |
| `clipping`   | 3d      | gradient clipping on an exploding deep linear net (clipping explorer)   |
| `remedies`   | 4       | the naive deep net and its remedies (train_with_remedies; remedy explorer) |
| `recurrent`  | 5       | gradients through time in an RNN and an LSTM (rnn explorer)             |
| `isometry`   | 5       | singular values of the input-output Jacobian (isometry explorer)        |
| `lr_range`   | 6       | the learning-rate range test on the digits (lr_finder explorer)         |
| `common`     |         | option names (derived from nn, init, diagnostics), the digits split,   |
|              |         | the optimisers by name (OPTIMIZER_MAKERS) and their settings' check    |
| `spec`       |         | what an explorer is: `Control` and `ExplorerSpec`                       |

Every explorer sits with its topic: compute, result type, `plot_...` drawing, one-line
`describe_...` and its `ExplorerSpec`. `EXPLORERS` (name -> spec) lists all of them;
`gradcourse.widgets`, the headless tests and `benchmarks/bench_explorers.py` read it.

Counting: a *block* is a plain unit Linear -> act or a residual unit x + s·F(x) (two Linear
layers in F); `num_blocks` counts blocks, and an `nn.MLP` adds an input and an output layer,
so it has num_blocks + 2 weight layers (2 num_blocks + 2 when residual).

We write these measurements on the course's own numpy autograd rather than on PyTorch, so
that a student can read every line between the loss and the number plotted.
"""
from . import adam, chain, clipping, depth, graph, isometry, lr_range, recurrent, remedies, residual, schedules
from .adam import (RACE_DEFAULTS, SURFACES, AdamMomentsResult, RaceResult, StepCost, Surface,
                   adam_moments, make_optimizer, optimizer_race, optimizer_step_cost, plot_adam_moments,
                   plot_optimizer_race, quadratic, quadratic_grad, reddi_gradient, rosenbrock, rosenbrock_grad,
                   saddle, saddle_grad)
from .chain import ChainResult, plot_chain, scalar_chain
from .clipping import ClippingResult, clipping_runs, plot_clipping
from .common import (ACTIVATIONS, DEFAULT_LR, INITS, NORMS, OPTIMIZERS, RACE_OPTIMIZERS, SQUASHING_AND_RELU,
                     digits_split, first_over_last, weight_layers)
from .depth import DepthResult, deep_mlp, depth_profile, plot_depth_profile
from .graph import GraphNode, computation_graph
from .isometry import ISOMETRY_ACTIVATIONS, ISOMETRY_INITS, IsometryResult, jacobian_isometry, plot_isometry
from .lr_range import lr_range_on_digits, plot_lr_range
from .recurrent import CELLS, TimeGradientResult, gradient_through_time, plot_gradient_through_time
from .remedies import (REMEDY_SCHEDULES, RemedyResult, compare_with_naive, naive_baseline, plot_remedies,
                       train_with_remedies)
from .residual import ResidualResult, plot_residual_training, residual_vs_plain
from .schedules import (DEFAULT_LR_SCHEDULES, LR_SCHEDULES, ScheduleResult, make_schedule,
                        plot_schedule_comparison, schedule_comparison)
from .spec import Control, ExplorerSpec

# The eleven explorers, in the order of the chapters that build them.
EXPLORERS = {spec.name: spec for spec in (
    depth.EXPLORER, chain.EXPLORER, schedules.EXPLORER, residual.EXPLORER, adam.ADAM_BIAS_EXPLORER,
    adam.OPTIMIZER_RACE_EXPLORER, clipping.EXPLORER, remedies.EXPLORER, recurrent.EXPLORER,
    isometry.EXPLORER, lr_range.EXPLORER)}
