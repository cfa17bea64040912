"""gradcourse: measure why deep networks' gradients vanish or explode, and how each remedy works.

The package mirrors PyTorch's names, so `import gradcourse as gc` reads like `import torch`:
`gc.tensor`, `gc.no_grad`, `gc.nn.Linear`, `gc.nn.init.kaiming_normal_`, `gc.functional.relu`,
`gc.optim.Adam`, `gc.schedules.CosineAnnealing`, `gc.manual_seed`.
"""
from . import data, diagnostics, functional, init, nn, optim, schedules, seeds, training
from .autograd import GradcheckError, ShapeError, Tensor, gradcheck, is_grad_enabled, no_grad, tensor
from .functional import concatenate, stack
from .rng import manual_seed

__version__ = "0.1.0"
