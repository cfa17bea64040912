"""Bad and edge inputs to every public module: each bad one raises a named error, none hangs.

Three tables:
  BAD_INPUTS   (id, call, expected type, regex): the call must raise that type with a message
               matching the regex, which names the argument and/or the rule. Argument checks
               use the one template of `gradcourse.validation`, "<where>: <name> must be <rule>,
               got <value>", so their regex is `must("name")`. A wrong kind (a string, a float
               or a bool where a count belongs) is a TypeError; a right kind with a bad value is a
               ValueError. Where PyTorch raises a RuntimeError for the same input (a hook that
               changes a gradient's shape, load_state_dict), either type is accepted.
  EDGE_INPUTS  inputs that look odd but are valid: they must give the right result.
  EITHER_WAY   inputs that PyTorch handles one way and a named error would handle another
               (an empty matrix to orthogonal_, a bias that is not 1-D): a named error, or the
               correct result, but never a crash or a silently wrong number.

Every case runs under a SIGALRM timeout of TIMEOUT seconds, so a hang fails its case instead of
stalling the suite (two calls used to spin forever on an empty data set).
"""
import math
import pickle
import re
import signal

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import (ablation, data, init, lr_finder, nn, optim, plots, residual_growth, rng, seeds, training,
                        widgets)
from gradcourse import diagnostics as D
from gradcourse import experiments as E
from gradcourse import functional as F
from gradcourse import schedules as S
from gradcourse.source import show_source

TIMEOUT = 5.0  # seconds per case; every case here takes a few milliseconds


@pytest.fixture(autouse=True)
def time_limit():
    """Raise TimeoutError in the case after TIMEOUT seconds, then again every second (so code
    that swallows the first one with `except Exception` is interrupted all the same)."""
    if not hasattr(signal, "SIGALRM"):  # (Windows: no timer signal; the cases still run)
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"no answer after {TIMEOUT:g} s: this input makes the call hang")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def must(name):
    """The regex of the validation template's '<name> must be', the name as a whole word."""
    return rf"(?<![\w.]){re.escape(name)} must be"


# ----- small things to pass in -------------------------------------------------------------------
def model():
    """A tiny classifier, 2 features -> 2 classes, always the same weights."""
    with rng.seeded(0):
        return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))


def classification_data(n=8):
    X = np.random.default_rng(0).standard_normal((n, 2))
    return X, np.arange(n) % 2


def param(shape=(3,)):
    return gc.tensor(np.zeros(shape), requires_grad=True)


def sgd(net):
    return optim.SGD(net.parameters(), lr=0.1)


def fit(**changes):
    """training.fit on the tiny problem, with `changes` to its arguments."""
    net = model()
    X, y = classification_data()
    arguments = dict(model=net, X=X, y=y, optimizer=sgd(net), steps=3, batch_size=4, progress=False, seed=0)
    return training.fit(**{**arguments, **changes})


def range_test(**changes):
    """lr_finder.lr_range_test on the tiny problem, with `changes` to its arguments."""
    X, y = classification_data()
    arguments = dict(model=model, X=X, y=y, optimizer_fn=lambda p: optim.SGD(p, lr=1e-3), steps=5,
                     batch_size=4)
    return lr_finder.lr_range_test(**{**arguments, **changes})


def reseed(seed):
    """gc.manual_seed(seed), the course's generator restored afterwards even if it was accepted."""
    with rng.seeded(0):
        gc.manual_seed(seed)


def backward_twice():
    x = param()
    loss = (x * x).sum()
    loss.backward()
    loss.backward()


def hook_changing_the_shape():
    x = param()
    y = x * 2.0
    y.register_hook(lambda g: np.ones(2))
    y.sum().backward()


def step_with_grad_of_shape(shape):
    p = param((3,))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(shape)  # (1,) would broadcast silently over the (3,) parameter
    opt.step()


def adam_state_of_the_wrong_shape():
    p = param((3,))
    opt = optim.Adam([p])
    p.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    saved["state"][0] = {key: np.zeros(5) if isinstance(value, np.ndarray) else value
                         for key, value in saved["state"][0].items()}
    optim.Adam([param((3,))]).load_state_dict(saved)


def shared_layer_in_two_models():
    shared = nn.Linear(2, 2)
    first, second = nn.Sequential(shared, nn.Tanh()), nn.Sequential(shared, nn.ReLU())
    optim.SGD(first.parameters() + second.parameters(), lr=0.1)


def load_state_without(key):
    net = nn.Linear(2, 3)
    state = dict(net.state_dict())
    del state[key]
    nn.Linear(2, 3).load_state_dict(state)


def load_state_of_the_wrong_shape():
    nn.Linear(2, 3).load_state_dict(nn.Linear(3, 2).state_dict())


def gradient_flow_with(**options):
    return D.GradientFlow(model(), **options)


def mismatched_seed_values():
    return seeds.SeedValues((0, 1), [1.0, 2.0]) < seeds.SeedValues((0, 2), [1.0, 2.0])


def code_without_a_file():
    namespace = {}
    exec("def made_by_exec():\n    return 1\n", namespace)
    show_source(namespace["made_by_exec"])


X8, Y8 = classification_data()
NAN, INF = math.nan, math.inf


EMPTY = r"len\(X\) must be|(?i:empty|no (samples|examples)|0 (samples|examples))"
SAME_LENGTH = r"len\(y\) must be|same number"


def case(id, call, error, match):
    return pytest.param(call, error, match, id=id)


BAD_INPUTS = [
    # ----- autograd: gc.tensor, Tensor, backward, hooks, indexing, gradcheck -------------------
    case("tensor-None", lambda: gc.tensor(None), TypeError, r"None"),
    case("tensor-string", lambda: gc.tensor("1.5"), TypeError, r"str|'1\.5'"),
    case("tensor-complex", lambda: gc.tensor(1 + 2j), TypeError, r"real|complex"),
    case("tensor-complex-array", lambda: gc.tensor(np.array([1 + 1j, 2])), TypeError, r"real|complex"),
    case("tensor-list-with-a-string", lambda: gc.tensor([1.0, "a"]), TypeError, r"str|'a'"),
    case("tensor-ragged-list", lambda: gc.tensor([[1.0, 2.0], [3.0]]), ValueError, r"rectangular"),
    case("backward-twice", backward_twice, RuntimeError, r"retain_graph=True"),
    case("backward-grad-of-wrong-shape", lambda: (param() * 2).backward(np.ones(2)), ValueError, r"shape"),
    case("backward-non-scalar-without-grad", lambda: (param() * 2).backward(), RuntimeError, r"scalar"),
    case("backward-without-requires-grad", lambda: gc.tensor([1.0]).sum().backward(), RuntimeError,
         r"require"),
    case("hook-returns-wrong-shape", hook_changing_the_shape, (ValueError, RuntimeError),
         r"(?s)hook.*shape|shape.*hook|size"),
    case("backward-string-grad", lambda: (param() * 2).sum().backward("1"), TypeError, r"grad"),
    case("backward-retain-graph-not-a-bool", lambda: (param() * 2).sum().backward(retain_graph="yes"), TypeError,
         must("retain_graph")),
    case("hook-not-callable", lambda: param().register_hook(3), TypeError, r"hook"),
    case("hook-on-constant", lambda: gc.tensor([1.0]).register_hook(print), RuntimeError, r"require"),
    case("index-with-float-tensor", lambda: param()[gc.tensor([0.5, 1.5])], (IndexError, TypeError),
         r"(?i)ind(ex|ices)"),
    case("power-with-tensor-exponent", lambda: param() ** gc.tensor([2.0, 2.0, 2.0]), TypeError, r"number"),
    case("reshape-to-wrong-size", lambda: param((6,)).reshape(4, 2), ValueError, r"reshape"),
    case("add-unbroadcastable", lambda: param((3,)) + param((2,)), ValueError, r"broadcast"),
    case("matmul-inner-mismatch", lambda: param((2, 3)) @ param((2, 3)), ValueError, r"matmul"),
    case("matmul-of-scalars", lambda: param(()) @ param(()), ValueError, r"1-D"),
    case("item-of-many", lambda: param((3,)).item(), ValueError, r"one element"),
    case("sum-axis-out-of-range", lambda: param((3,)).sum(axis=2), ValueError, r"axis"),
    case("gradcheck-fn-returns-ndarray", lambda: gc.gradcheck(lambda x: x.data * 2, param()), TypeError,
         r"Tensor"),
    case("gradcheck-nothing-requires-grad", lambda: gc.gradcheck(lambda x: x * 2, gc.tensor([1.0])),
         ValueError, r"requires_grad"),
    case("gradcheck-eps-zero", lambda: gc.gradcheck(lambda x: x * 2, param(), eps=0.0), ValueError, must("eps")),

    # ----- rng ---------------------------------------------------------------------------------
    case("manual_seed-negative", lambda: reseed(-1), ValueError, must("seed")),
    case("manual_seed-float", lambda: reseed(1.5), TypeError, must("seed")),
    case("manual_seed-bool", lambda: reseed(True), TypeError, must("seed")),
    case("manual_seed-string", lambda: reseed("0"), TypeError, must("seed")),
    case("generator-negative-seed", lambda: rng.generator(-1), ValueError, r"seed"),

    # ----- functional --------------------------------------------------------------------------
    case("linear-1d-weight", lambda: F.linear(param((4, 2)), param((2,))), ValueError, r"weight"),
    case("linear-feature-mismatch", lambda: F.linear(param((4, 2)), param((3, 5))), ValueError, r"features"),
    case("linear-bias-of-wrong-length", lambda: F.linear(param((4, 2)), param((2, 3)), param((5,))),
         ValueError, r"bias"),
    case("linear_activation-unknown", lambda: F.linear_activation(param((4, 2)), param((2, 3)), None, "swish"),
         ValueError, r"activation"),
    case("mse-shape-mismatch", lambda: F.mse_loss(param((4, 1)), param((4,))), ValueError, r"shape"),
    case("cross_entropy-1d-logits", lambda: F.cross_entropy(param((4,)), [0, 1, 0, 1]), ValueError, r"logits"),
    case("cross_entropy-fractional-targets", lambda: F.cross_entropy(param((2, 3)), [0.5, 1.0]), ValueError,
         r"integer"),
    case("cross_entropy-nan-target", lambda: F.cross_entropy(param((2, 3)), [NAN, 1.0]), ValueError,
         r"integer"),
    case("cross_entropy-class-out-of-range", lambda: F.cross_entropy(param((2, 3)), [0, 3]), ValueError,
         r"class"),
    case("cross_entropy-targets-wrong-length", lambda: F.cross_entropy(param((2, 3)), [0, 1, 2]), ValueError,
         r"targets"),
    case("bce-shape-mismatch", lambda: F.binary_cross_entropy_with_logits(param((4, 1)), np.zeros(4)),
         ValueError, r"shape"),
    case("gelu-unknown-approximation", lambda: F.gelu(param(), approximate="erf"), ValueError, r"approximate"),
    case("leaky_relu-string-slope", lambda: F.leaky_relu(param(), negative_slope="a"), TypeError,
         must("negative_slope")),
    case("softmax-axis-out-of-range", lambda: F.softmax(param((2, 3)), axis=2), ValueError, r"axis"),
    case("stack-nothing", lambda: F.stack([]), ValueError, r"at least one"),
    case("stack-different-shapes", lambda: F.stack([param((2,)), param((3,))]), ValueError, r"shape"),
    case("concatenate-bad-axis", lambda: F.concatenate([param((2,)), param((2,))], axis=1), ValueError,
         r"axis"),

    # ----- nn layers ---------------------------------------------------------------------------
    case("Linear-negative-in", lambda: nn.Linear(-1, 3), ValueError, must("in_features")),
    case("Linear-float-out", lambda: nn.Linear(2, 2.5), TypeError, must("out_features")),
    case("Linear-bool-in", lambda: nn.Linear(True, 3), TypeError, must("in_features")),
    case("Linear-unknown-init", lambda: nn.Linear(2, 3, init="he"), ValueError, r"init"),
    case("Linear-wrong-input-width", lambda: nn.Linear(2, 3)(np.zeros((4, 5))), ValueError, r"features"),
    case("RNN-zero-hidden", lambda: nn.RNN(3, 0), ValueError, must("hidden_size")),
    case("RNN-unknown-nonlinearity", lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, r"nonlinearity"),
    case("RNN-2d-input", lambda: nn.RNN(2, 3)(np.zeros((4, 2))), ValueError, r"\(batch, time"),
    case("RNN-empty-sequence", lambda: nn.RNN(2, 3)(np.zeros((4, 0, 2))), ValueError, r"time >= 1"),
    case("Linear-on-strings", lambda: nn.Linear(2, 3)(np.array([["a", "b"]])), TypeError, r"real numbers|data"),
    case("RNN-h0-wrong-shape", lambda: nn.RNN(2, 3)(np.zeros((4, 5, 2)), np.zeros((4, 2))), ValueError,
         r"state"),
    case("LSTM-negative-hidden", lambda: nn.LSTM(3, -2), ValueError, must("hidden_size")),
    case("LSTM-float-input-size", lambda: nn.LSTM(2.0, 3), TypeError, must("input_size")),
    case("LSTM-string-forget-bias", lambda: nn.LSTM(2, 3, forget_bias="1"), TypeError, must("forget_bias")),
    case("LayerNorm-zero-features", lambda: nn.LayerNorm(0), ValueError, r"normalized_shape"),
    case("LayerNorm-negative-eps", lambda: nn.LayerNorm(3, eps=-1.0), ValueError, must("eps")),
    case("LayerNorm-wrong-width", lambda: nn.LayerNorm(3)(np.zeros((2, 4))), ValueError, r"shape"),
    case("BatchNorm1d-zero-features", lambda: nn.BatchNorm1d(0), ValueError, must("num_features")),
    case("BatchNorm1d-momentum-above-one", lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, must("momentum")),
    case("BatchNorm1d-string-momentum", lambda: nn.BatchNorm1d(3, momentum="0.1"), TypeError, must("momentum")),
    case("BatchNorm1d-train-batch-of-one", lambda: nn.BatchNorm1d(3)(np.zeros((1, 3))), ValueError,
         r"more than one"),
    case("MLP-negative-blocks", lambda: nn.MLP(2, 3, 2, num_blocks=-1), ValueError, must("num_blocks")),
    case("MLP-bool-blocks", lambda: nn.MLP(2, 3, 2, num_blocks=True), TypeError, must("num_blocks")),
    case("MLP-unknown-activation", lambda: nn.MLP(2, 3, 2, 1, activation="swish"), ValueError, r"activation"),
    case("MLP-unknown-norm", lambda: nn.MLP(2, 3, 2, 1, norm="group"), ValueError, r"norm"),
    case("MLP-zero-hidden", lambda: nn.MLP(2, 0, 2, 1), ValueError, r"hidden|out_features|in_features"),
    case("MLP-branch-scale-without-residual", lambda: nn.MLP(2, 3, 2, 1, branch_scale=0.5), ValueError,
         r"branch_scale"),
    case("Sequential-of-a-number", lambda: nn.Sequential(nn.Linear(2, 2), 3), TypeError, r"Module"),
    case("Residual-string-scale", lambda: nn.Residual(nn.Linear(2, 2), scale="1"), TypeError, must("scale")),
    case("GELU-unknown-approximation", lambda: nn.GELU("erf")(param()), ValueError, r"approximate"),
    case("load_state_dict-missing-key", lambda: load_state_without("bias"), (RuntimeError, ValueError, KeyError),
         r"bias"),
    case("load_state_dict-wrong-shape", load_state_of_the_wrong_shape, (RuntimeError, ValueError), r"shape"),

    # ----- init --------------------------------------------------------------------------------
    case("xavier-1d", lambda: init.xavier_uniform_(param((3,))), ValueError, r"dimensions"),
    case("orthogonal-1d", lambda: init.orthogonal_(param((3,))), ValueError, r"dimension"),
    case("xavier-nan-gain", lambda: init.xavier_normal_(param((2, 3)), gain=NAN), ValueError, must("gain")),
    case("xavier-string-gain", lambda: init.xavier_normal_(param((2, 3)), gain="2"), TypeError, must("gain")),
    case("kaiming-unknown-mode", lambda: init.kaiming_normal_(param((2, 3)), mode="fan"), ValueError, r"mode"),
    case("kaiming-unknown-nonlinearity", lambda: init.kaiming_uniform_(param((2, 3)), nonlinearity="swish"),
         ValueError, r"nonlinearity"),
    case("calculate_gain-nan-slope", lambda: init.calculate_gain("leaky_relu", NAN), ValueError,
         r"param|negative_slope"),
    case("normal-negative-std", lambda: init.normal_(param((2, 3)), std=-1.0), ValueError, must("std")),
    case("uniform-reversed-bounds", lambda: init.uniform_(param((2, 3)), a=1.0, b=0.0), ValueError,
         r"\b(a|b) must be"),
    case("constant-string", lambda: init.constant_(param((2, 3)), "a"), TypeError, must("val")),
    case("fill-an-ndarray", lambda: init.zeros_(np.zeros(3)), TypeError, r"Tensor"),
    case("init_linear-unknown-scheme", lambda: init.init_linear_(param((2, 3)), scheme="he"), ValueError,
         r"scheme"),

    # ----- optim -------------------------------------------------------------------------------
    case("optimizer-given-a-module", lambda: optim.SGD(model(), lr=0.1), TypeError, r"parameters\(\)"),
    case("optimizer-duplicate-parameter", lambda: (lambda p: optim.SGD([p, p], lr=0.1))(param()), ValueError,
         r"(?i)duplicate|more than once|twice"),
    case("optimizer-shared-layer-twice", shared_layer_in_two_models, ValueError,
         r"(?i)duplicate|more than once|twice"),
    case("optimizer-no-parameters", lambda: optim.SGD([], lr=0.1), ValueError, r"empty"),
    case("optimizer-ndarray-parameter", lambda: optim.SGD([np.zeros(3)], lr=0.1), TypeError, r"param"),
    case("SGD-negative-lr", lambda: optim.SGD([param()], lr=-0.1), ValueError, must("lr")),
    case("SGD-nan-lr", lambda: optim.SGD([param()], lr=NAN), ValueError, must("lr")),
    case("SGD-string-lr", lambda: optim.SGD([param()], lr="0.1"), TypeError, must("lr")),
    case("SGD-bool-lr", lambda: optim.SGD([param()], lr=True), TypeError, must("lr")),
    case("SGD-negative-momentum", lambda: optim.SGD([param()], lr=0.1, momentum=-0.5), ValueError,
         must("momentum")),
    case("SGD-nesterov-without-momentum", lambda: optim.SGD([param()], lr=0.1, nesterov=True), ValueError,
         r"(?i)nesterov"),
    case("Adam-beta-of-one", lambda: optim.Adam([param()], betas=(1.0, 0.999)), ValueError, r"beta"),
    case("Adam-one-beta", lambda: optim.Adam([param()], betas=(0.9,)), (TypeError, ValueError), must("betas")),
    case("Adam-negative-eps", lambda: optim.Adam([param()], eps=-1e-8), ValueError, must("eps")),
    case("AdamW-negative-weight-decay", lambda: optim.AdamW([param()], weight_decay=-0.1), ValueError,
         must("weight_decay")),
    case("RMSprop-negative-alpha", lambda: optim.RMSprop([param()], alpha=-0.1), ValueError, must("alpha")),
    case("Adagrad-infinite-lr", lambda: optim.Adagrad([param()], lr=INF), ValueError, must("lr")),
    case("step-grad-of-wrong-shape", lambda: step_with_grad_of_shape((1,)), ValueError, r"shape"),
    case("step-grad-of-unbroadcastable-shape", lambda: step_with_grad_of_shape((2,)), ValueError,
         r"(?s)grad.*shape|shape.*grad"),
    case("load_state_dict-state-of-wrong-shape", adam_state_of_the_wrong_shape, ValueError, r"shape"),
    case("load_state_dict-from-another-optimiser",
         lambda: optim.SGD([param()], lr=0.1).load_state_dict(optim.Adam([param()]).state_dict()), ValueError,
         r"SGD"),
    case("clip_grad_norm-negative", lambda: optim.clip_grad_norm_([param()], -1.0), ValueError, must("max_norm")),
    case("clip_grad_norm-nan", lambda: optim.clip_grad_norm_([param()], NAN), ValueError, must("max_norm")),
    case("clip_grad_norm-string", lambda: optim.clip_grad_norm_([param()], "1"), TypeError, must("max_norm")),
    case("clip_grad_value-negative", lambda: optim.clip_grad_value_([param()], -1.0), ValueError,
         must("clip_value")),

    # ----- schedules ---------------------------------------------------------------------------
    case("StepDecay-zero-step-size", lambda: S.StepDecay(0.1, step_size=0), ValueError, must("step_size")),
    case("StepDecay-float-step-size", lambda: S.StepDecay(0.1, step_size=2.5), TypeError, must("step_size")),
    case("StepDecay-bool-step-size", lambda: S.StepDecay(0.1, step_size=True), TypeError, must("step_size")),
    case("ExponentialDecay-nan-gamma", lambda: S.ExponentialDecay(0.1, NAN), ValueError, must("gamma")),
    case("CosineAnnealing-min-above-lr", lambda: S.CosineAnnealing(0.1, 10, min_lr=0.5), ValueError,
         must("min_lr")),
    case("PolynomialDecay-string-steps", lambda: S.PolynomialDecay(0.1, "10"), TypeError, must("total_steps")),
    case("Constant-negative-lr", lambda: S.Constant(-0.1), ValueError, must("lr")),
    case("schedule-negative-step", lambda: S.Constant(0.1)(-1), ValueError, must("step")),
    case("schedule-float-step", lambda: S.Constant(0.1)(1.5), TypeError, must("step")),
    case("schedule-bool-step", lambda: S.Constant(0.1)(True), TypeError, must("step")),
    case("OneCycle-past-the-end", lambda: S.OneCycle(0.1, 10)(11), ValueError, r"total_steps"),
    case("OneCycle-pct-above-one", lambda: S.OneCycle(0.1, 10, pct_start=1.5), ValueError, must("pct_start")),
    case("LinearWarmup-not-a-schedule", lambda: S.LinearWarmup("cosine", 5), TypeError, must("schedule")),
    case("ReduceLROnPlateau-factor-above-one", lambda: S.ReduceLROnPlateau(0.1, factor=1.5), ValueError,
         must("factor")),
    case("ReduceLROnPlateau-float-patience", lambda: S.ReduceLROnPlateau(0.1, patience=1.5), TypeError,
         must("patience")),
    case("ReduceLROnPlateau-bool-patience", lambda: S.ReduceLROnPlateau(0.1, patience=True), TypeError,
         must("patience")),
    case("ReduceLROnPlateau-nan-loss", lambda: S.ReduceLROnPlateau(0.1).step(NAN), ValueError, r"loss"),
    case("BoldDriver-increase-below-one", lambda: S.BoldDriver(0.1, increase=0.5), ValueError, must("increase")),
    case("LRScheduler-schedule-by-name", lambda: S.LRScheduler(optim.SGD([param()], lr=0.1), "cosine"),
         TypeError, must("schedule")),
    case("LRScheduler-loss-driven-without-loss",
         lambda: S.LRScheduler(optim.SGD([param()], lr=0.1), S.BoldDriver(0.1)).step(), ValueError, r"loss"),

    # ----- training ----------------------------------------------------------------------------
    case("fit-empty-data", lambda: fit(X=np.zeros((0, 2)), y=np.zeros(0, int)), ValueError,
         EMPTY),
    case("fit-steps-bool", lambda: fit(steps=True), TypeError, must("steps")),
    case("fit-steps-zero", lambda: fit(steps=0), ValueError, must("steps")),
    case("fit-steps-float", lambda: fit(steps=2.0), TypeError, must("steps")),
    case("fit-batch-size-bool", lambda: fit(batch_size=True), TypeError, must("batch_size")),
    case("fit-X-y-lengths-differ", lambda: fit(y=Y8[:5]), ValueError, SAME_LENGTH),
    case("steps_to-zero-window", lambda: training.History(loss=[1.0, 0.5]).steps_to(0.1, window=0), ValueError,
         must("window")),
    case("fit-unknown-loss", lambda: fit(loss="hinge"), ValueError, r"loss"),
    case("fit-negative-clip-norm", lambda: fit(clip_norm=-1.0), ValueError, must("clip_norm")),
    case("fit-nan-clip-norm", lambda: fit(clip_norm=NAN), ValueError, must("clip_norm")),
    case("fit-negative-eval-every", lambda: fit(eval_every=-1), ValueError, must("eval_every")),
    case("fit-bool-eval-every", lambda: fit(eval_every=True), TypeError, must("eval_every")),
    case("fit-optimizer-by-name", lambda: fit(optimizer="adam"), TypeError, must("optimizer")),
    case("fit-schedule-by-name", lambda: fit(schedule="cosine"), TypeError, must("schedule")),
    case("accuracy-lengths-differ", lambda: training.accuracy(model(), X8, Y8[:5]), ValueError, SAME_LENGTH),

    # ----- lr_finder ---------------------------------------------------------------------------
    case("lr_range-empty-data", lambda: range_test(X=np.zeros((0, 2)), y=np.zeros(0, int)), ValueError,
         EMPTY),
    case("lr_range-zero-start", lambda: range_test(start_lr=0.0), ValueError, must("start_lr")),
    case("lr_range-end-below-start", lambda: range_test(start_lr=1.0, end_lr=0.1), ValueError, must("end_lr")),
    case("lr_range-one-step", lambda: range_test(steps=1), ValueError, must("steps")),
    case("lr_range-bool-steps", lambda: range_test(steps=True), TypeError, must("steps")),
    case("lr_range-smooth-of-one", lambda: range_test(smooth=1.0), ValueError, must("smooth")),
    case("lr_range-diverge-factor-one", lambda: range_test(diverge_factor=1.0), ValueError,
         must("diverge_factor")),
    case("lr_range-model-is-a-number", lambda: range_test(model=3), TypeError, r"model"),
    case("lr_range-unknown-loss", lambda: range_test(loss="hinge"), ValueError, r"loss"),
    case("suggest-lengths-differ", lambda: lr_finder.suggest(np.array([1e-3, 1e-2, 1e-1]), np.array([1.0, 0.5])),
         ValueError, r"lrs|smoothed"),
    case("suggest-nothing", lambda: lr_finder.suggest(np.array([]), np.array([])), ValueError,
         r"lrs|smoothed"),

    # ----- data --------------------------------------------------------------------------------
    case("batches-batch-size-bool", lambda: list(data.batches(X8, Y8, batch_size=True)), TypeError,
         must("batch_size")),
    case("batches-batch-size-zero", lambda: list(data.batches(X8, Y8, batch_size=0)), ValueError,
         must("batch_size")),
    case("batches-batch-size-float", lambda: list(data.batches(X8, Y8, batch_size=2.0)), TypeError,
         must("batch_size")),
    case("batches-lengths-differ", lambda: list(data.batches(X8, Y8[:3], 2)), ValueError, SAME_LENGTH),
    case("spirals-zero-points", lambda: data.spirals(n=0), ValueError, must("n")),
    case("spirals-bool-classes", lambda: data.spirals(classes=True), TypeError, must("classes")),
    case("spirals-fewer-points-than-classes", lambda: data.spirals(n=2, classes=3), ValueError, r"class"),
    case("spirals-nan-noise", lambda: data.spirals(noise=NAN), ValueError, must("noise")),
    case("moons-string-noise", lambda: data.moons(noise="0.1"), TypeError, must("noise")),
    case("parity-zero-bits", lambda: data.parity(bits=0), ValueError, must("bits")),
    case("adding_problem-length-one", lambda: data.adding_problem(4, 1), ValueError, r"length"),
    case("linear_regression-negative-noise", lambda: data.linear_regression(noise=-0.1), ValueError,
         must("noise")),
    case("train_test_split-test-size-above-one", lambda: data.train_test_split(X8, Y8, test_size=1.5),
         ValueError, must("test_size")),
    case("train_test_split-string-test-size", lambda: data.train_test_split(X8, Y8, test_size="0.2"),
         TypeError, must("test_size")),
    case("train_test_split-stratify-wrong-length", lambda: data.train_test_split(X8, Y8, stratify=Y8[:3]),
         ValueError, r"stratify"),
    case("train_test_split-one-sample", lambda: data.train_test_split(X8[:1], Y8[:1]), ValueError, r"empty"),
    case("standardize-different-features", lambda: data.standardize(np.zeros((4, 3)), np.zeros((2, 4))),
         ValueError, r"feature|column|X_test"),

    # ----- diagnostics -------------------------------------------------------------------------
    case("GradientFlow-unknown-activation", lambda: gradient_flow_with(activation="swish"), ValueError,
         r"activation"),
    case("measure_at_init-unknown-loss", lambda: D.measure_at_init(model(), X8, loss="hinge"), ValueError,
         r"loss"),
    case("jacobian-of-a-batch", lambda: D.input_output_jacobian(model(), np.zeros((3, 2))), ValueError,
         r"shape"),
    case("default_layers-nothing-to-measure", lambda: D.default_layers(nn.Identity()), ValueError, r"layers"),
    case("per_layer-lengths-differ", lambda: D.per_layer([1.0], ["a.weight", "b.weight"], ["a"]), ValueError,
         r"weight names"),
    case("check_gradients-negative-vanishing", lambda: D.check_gradients(model(), 1, vanishing=-1.0),
         ValueError, must("vanishing")),
    case("check_gradients-nan-exploding", lambda: D.check_gradients(model(), 1, exploding=NAN), ValueError,
         must("exploding")),

    # ----- plots -------------------------------------------------------------------------------
    case("gradient_flow-2d", lambda: plots.gradient_flow(np.ones((2, 2))), ValueError, r"1-D"),
    case("gradient_flow-empty-dict", lambda: plots.gradient_flow({}), ValueError, r"empty"),
    case("layer_histograms-unknown-kind", lambda: plots.layer_histograms([np.ones(3)], kind="weights"),
         ValueError, r"kind"),
    case("training_curves-unknown-metric", lambda: plots.training_curves({"a": {"loss": [1.0]}}, metric="lr"),
         ValueError, r"metric"),
    case("training_curves-no-runs", lambda: plots.training_curves({}), ValueError, r"runs"),
    case("update_ratio-labels-mismatch", lambda: plots.update_ratio(np.ones((3, 2)), labels=["a"]), ValueError,
         r"labels"),
    case("schedules-callable-without-steps", lambda: plots.schedules({"c": S.Constant(0.1)}), ValueError,
         r"steps"),
    case("seed_spread-nothing", lambda: plots.seed_spread({}, "loss"), ValueError, r"values"),
    case("bar_comparison-nothing", lambda: plots.bar_comparison({}, "loss"), ValueError, r"values"),
    case("loss_surface-trajectory-wrong-shape",
         lambda: plots.loss_surface(lambda x, y: x * x + y * y, (-1, 1), (-1, 1), trajectories={"p": np.ones(3)},
                                    resolution=5), ValueError, r"trajectory"),
    case("loss_surface-zero-resolution",
         lambda: plots.loss_surface(lambda x, y: x * x + y * y, (-1, 1), (-1, 1), resolution=0), ValueError,
         must("resolution")),

    # ----- experiments -------------------------------------------------------------------------
    case("scalar_chain-zero-layers", lambda: E.scalar_chain(num_layers=0), ValueError, r"num_layers"),
    case("scalar_chain-bool-layers", lambda: E.scalar_chain(num_layers=True), TypeError, must("num_layers")),
    case("scalar_chain-huge-depth", lambda: E.scalar_chain(num_layers=10**9), ValueError, r"num_layers"),
    case("scalar_chain-unknown-activation", lambda: E.scalar_chain(activation="swish"), ValueError,
         r"activation"),
    case("scalar_chain-string-weight", lambda: E.scalar_chain(num_layers=3, weight="1"), TypeError, must("weight")),
    case("deep_mlp-unknown-init", lambda: E.deep_mlp(init="he"), ValueError, r"init"),
    case("deep_mlp-unknown-norm", lambda: E.deep_mlp(norm="group"), ValueError, r"norm"),
    case("depth_profile-zero-width", lambda: E.depth_profile(num_blocks=2, width=0), ValueError, must("width")),
    case("gradient_through_time-unknown-cell", lambda: E.gradient_through_time(cell="gru"), ValueError, r"cell"),
    case("gradient_through_time-zero-length", lambda: E.gradient_through_time(length=0), ValueError, r"length"),
    case("adam_moments-beta1-of-one", lambda: E.adam_moments(beta1=1.0), ValueError, must("beta1")),
    case("adam_moments-zero-eps", lambda: E.adam_moments(eps=0.0), ValueError, must("eps")),
    case("optimizer_race-unknown-surface", lambda: E.optimizer_race(surface="bowl"), ValueError, r"surface"),
    case("make_optimizer-unknown", lambda: E.make_optimizer("Lion", [param()], 0.1), ValueError, r"Lion"),
    case("clipping_runs-zero-threshold", lambda: E.clipping_runs(threshold=0.0), ValueError, must("threshold")),
    case("make_schedule-unknown", lambda: E.make_schedule("linear"), ValueError, r"schedule"),
    case("make_schedule-warmup-longer-than-run", lambda: E.make_schedule("warmup+cosine", steps=5, warmup=10),
         ValueError, r"warmup"),
    case("jacobian_isometry-unknown-init", lambda: E.jacobian_isometry(num_blocks=2, width=4, init="he"),
         ValueError, r"init"),
    case("computation_graph-of-a-number", lambda: E.computation_graph(3.0), TypeError, r"root|Tensor"),
    case("train_with_remedies-one-step", lambda: E.train_with_remedies(steps=1), ValueError, r"steps"),
    case("residual_vs_plain-zero-blocks", lambda: E.residual_vs_plain(num_blocks=0), ValueError, r"num_blocks"),
    case("lr_range_on_digits-unknown-optimizer", lambda: E.lr_range_on_digits(optimizer="lbfgs"), ValueError,
         r"optimizer"),

    # ----- ablation, residual_growth -------------------------------------------------------------
    case("ablation-unknown-setting", lambda: ablation.cumulative({"faster": {"speed": 2}}), ValueError, r"speed"),
    case("ablation-setting-in-two-remedies",
         lambda: ablation.leave_one_out({"a": {"activation": "relu"}, "b": {"activation": "tanh"}}), ValueError,
         r"activation"),
    case("forward_growth-of-a-plain-net", lambda: residual_growth.forward_growth(model(), X8), ValueError,
         r"residual"),

    # ----- widgets (the public builders) -------------------------------------------------------
    case("build-unknown-explorer", lambda: widgets.build("tornado"), ValueError, r"explorer"),
    case("build-unknown-control", lambda: widgets.build("chain", speed=3), TypeError, r"speed"),
    case("chain_explorer-unknown-choice", lambda: widgets.chain_explorer(activation="swish"), ValueError,
         r"activation"),
    case("figure_png-of-a-string", lambda: widgets.figure_png("figure"), TypeError, r"figure|Figure"),

    # ----- seeds -------------------------------------------------------------------------------
    case("over_seeds-zero", lambda: seeds.over_seeds(float, seeds=0, progress=False), ValueError, r"seeds"),
    case("over_seeds-bool", lambda: seeds.over_seeds(float, seeds=True, progress=False), TypeError, r"seeds"),
    case("over_seeds-float", lambda: seeds.over_seeds(float, seeds=2.5, progress=False), TypeError, r"seeds"),
    case("over_seeds-repeated", lambda: seeds.over_seeds(float, seeds=[1, 1], progress=False), ValueError,
         r"repeat"),
    case("over_seeds-run-returns-text", lambda: seeds.over_seeds(str, seeds=2, progress=False), TypeError,
         r"number"),
    case("over_seeds-run-not-callable", lambda: seeds.over_seeds(3, seeds=2, progress=False), TypeError,
         must("run")),
    case("in_how_many-empty", lambda: seeds.in_how_many([]), ValueError, r"non-empty"),
    case("in_how_many-not-boolean", lambda: seeds.in_how_many([1, 0]), ValueError, r"boolean"),
    case("SeedValues-wrong-length", lambda: seeds.SeedValues((0, 1), [1.0, 2.0, 3.0]), ValueError, r"seeds"),
    case("SeedValues-other-seeds", mismatched_seed_values, ValueError, r"same seeds"),

    # ----- source ------------------------------------------------------------------------------
    case("show_source-of-a-number", lambda: show_source(3), TypeError, must("obj")),
    case("show_source-of-a-builtin", lambda: show_source(len), TypeError, must("obj")),
    case("show_source-without-a-file", code_without_a_file, ValueError, must("obj")),
]


@pytest.mark.parametrize("call, error, match", BAD_INPUTS)
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----- edge inputs that are valid: the right result ----------------------------------------------
def bool_index_tensor_selects_like_numpy():
    x = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    picked = x[gc.tensor(np.array([True, False, True]))]
    np.testing.assert_array_equal(picked.data, [1.0, 3.0])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])


def integer_index_tensor_selects_like_numpy():
    x = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    picked = x[gc.tensor(np.array([2, 0, 2]))]
    np.testing.assert_array_equal(picked.data, [3.0, 1.0, 3.0])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0])  # a repeated index adds up


def numpy_reads_a_tensor_as_its_array():
    assert np.asarray(gc.tensor([[1.0, 2.0]])).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(gc.tensor([[1.0, 2.0]])), [[1.0, 2.0]])


def accuracy_takes_tensor_labels():
    net = model()
    assert training.accuracy(net, X8, gc.tensor(Y8)) == training.accuracy(net, X8, Y8)
    assert training.accuracy(net, gc.tensor(X8), list(Y8)) == training.accuracy(net, X8, Y8)


def retain_graph_allows_a_second_backward():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])  # 2x, twice


def clip_grad_norm_takes_named_parameters():
    net = model()
    for p in net.parameters():
        p.grad = np.full(p.shape, 10.0)
    before = optim.grad_norm(net.parameters())
    assert optim.clip_grad_norm_(net.named_parameters(), 1.0) == pytest.approx(before)
    assert optim.grad_norm(net.parameters()) == pytest.approx(1.0, rel=1e-5)


def clip_grad_value_takes_named_parameters():
    net = model()
    for p in net.parameters():
        p.grad = np.full(p.shape, 10.0)
    optim.clip_grad_value_(net.named_parameters(), 0.5)
    assert all(np.all(p.grad == 0.5) for p in net.parameters())


class RecordingPlateau(S.ReduceLROnPlateau):
    """ReduceLROnPlateau that remembers the losses it was given and the rates it returned."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.losses, self.rates = [], []

    def step(self, loss):
        self.losses.append(float(loss))
        self.rates.append(super().step(loss))
        return self.rates[-1]


def fit_steps_a_reduce_on_plateau_schedule_with_the_loss():
    """Step k's loss goes to the schedule, and the rate it returns is step k + 1's (as in PyTorch)."""
    plateau = RecordingPlateau(0.1, factor=0.5, patience=0)
    history = fit(schedule=plateau, steps=4)
    assert not history.diverged
    assert plateau.losses == pytest.approx(history.loss)
    assert history.lr == pytest.approx([0.1] + plateau.rates[:-1])
    assert min(history.lr) < 0.1  # patience 0: some step failed to improve and cut the rate


def batchnorm_momentum_none_is_a_cumulative_average():
    """PyTorch: momentum=None gives running_mean = the plain mean of the batch means so far."""
    norm = nn.BatchNorm1d(2, momentum=None)
    first, second = np.array([[0.0, 2.0], [2.0, 4.0]]), np.array([[4.0, 6.0], [6.0, 8.0]])
    norm(first)
    norm(second)
    np.testing.assert_allclose(norm.running_mean, (first.mean(axis=0) + second.mean(axis=0)) / 2)


def batchnorm_in_eval_mode_takes_a_batch_of_one():
    norm = nn.BatchNorm1d(3).eval()
    out = norm(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(out.data, np.array([[1.0, 2.0, 3.0]]) / np.sqrt(1 + norm.eps))


def size_one_axes_keep_their_gradients():
    x = gc.tensor(np.ones((1, 3, 1)), requires_grad=True)
    (x.sum(axis=(0, 2)) * gc.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[1.0], [2.0], [3.0]]])
    np.testing.assert_array_equal(F.softmax(gc.tensor([[5.0]])).data, [[1.0]])
    assert F.cross_entropy(gc.tensor([[0.0, 0.0]]), [1]).item() == pytest.approx(math.log(2))


def recurrent_layers_pickle_after_a_forward_pass():
    for layer in (nn.RNN(2, 3), nn.LSTM(2, 3)):
        layer(np.zeros((1, 2, 2)))
        copy = pickle.loads(pickle.dumps(layer))
        np.testing.assert_array_equal(copy.weight_hh.data, layer.weight_hh.data)


def state_dict_round_trips():
    source, target = nn.Linear(2, 3), nn.Linear(2, 3)
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.weight.data, source.weight.data)


def numpy_integers_count_as_sizes():
    assert nn.Linear(np.int64(2), np.int32(3)).weight.shape == (2, 3)
    assert len(list(data.batches(X8, Y8, batch_size=np.int64(3)))) == 3


EDGE_INPUTS = [bool_index_tensor_selects_like_numpy, integer_index_tensor_selects_like_numpy,
               numpy_reads_a_tensor_as_its_array, accuracy_takes_tensor_labels,
               retain_graph_allows_a_second_backward, clip_grad_norm_takes_named_parameters,
               clip_grad_value_takes_named_parameters, fit_steps_a_reduce_on_plateau_schedule_with_the_loss,
               batchnorm_momentum_none_is_a_cumulative_average, batchnorm_in_eval_mode_takes_a_batch_of_one,
               size_one_axes_keep_their_gradients, recurrent_layers_pickle_after_a_forward_pass, state_dict_round_trips,
               numpy_integers_count_as_sizes]


@pytest.mark.parametrize("check", EDGE_INPUTS, ids=lambda f: f.__name__)
def test_edge_input_gives_the_right_result(check):
    check()


# ----- a named error, or the right result --------------------------------------------------------
def error_or(check, error, match):
    """Run `check`: it may raise `error` with a message matching `match`, or must pass its asserts."""
    try:
        check()
    except error as raised:
        assert re.search(match, str(raised)), f"{type(raised).__name__} does not name the problem: {raised}"


def linear_bias_of_shape(shape, fused):
    x = gc.tensor(np.ones((4, 2)))
    weight = gc.tensor(np.ones((2, 3)), requires_grad=True)
    bias = gc.tensor(np.zeros(shape), requires_grad=True)
    out = F.linear_activation(x, weight, bias, "tanh") if fused else F.linear(x, weight, bias)
    out.sum().backward()
    assert bias.grad.shape == shape, f"a bias of shape {shape} got a gradient of shape {bias.grad.shape}"
    expected = (1 - np.tanh(2.0) ** 2 if fused else 1.0) * np.ones((4, 3))
    np.testing.assert_allclose(bias.grad, expected.sum(axis=0).reshape(shape) if shape[0] == 1 else expected)


def orthogonal_fills_an_empty_matrix_as_a_no_op():
    """PyTorch: initialising a zero-element tensor is a no-op (with a warning)."""
    weight = param((0, 3))
    assert init.orthogonal_(weight) is weight and weight.shape == (0, 3)


def kaiming_fills_an_empty_matrix_as_a_no_op():
    weight = param((0, 3))
    assert init.kaiming_normal_(weight) is weight and weight.shape == (0, 3)


def exponential_decay_overflows_to_infinity():
    """PyTorch's ExponentialLR with gamma > 1 grows without bound: inf, not an OverflowError."""
    assert S.ExponentialDecay(0.1, 2)(5000) == math.inf


def mse_of_empty_tensors_is_nan():
    """PyTorch: mse_loss of two empty tensors is nan (the mean of nothing)."""
    assert math.isnan(F.mse_loss(gc.tensor(np.zeros(0)), gc.tensor(np.zeros(0))).item())


EITHER_WAY = [
    pytest.param(lambda: linear_bias_of_shape((4, 3), fused=False), ValueError, r"bias", id="linear-batch-bias"),
    pytest.param(lambda: linear_bias_of_shape((1, 3), fused=False), ValueError, r"bias", id="linear-row-bias"),
    pytest.param(lambda: linear_bias_of_shape((4, 3), fused=True), ValueError, r"bias",
                 id="linear_activation-batch-bias"),
    pytest.param(lambda: linear_bias_of_shape((1, 3), fused=True), ValueError, r"bias",
                 id="linear_activation-row-bias"),
    pytest.param(orthogonal_fills_an_empty_matrix_as_a_no_op, ValueError, r"empty|shape|dimension",
                 id="orthogonal-empty"),
    pytest.param(kaiming_fills_an_empty_matrix_as_a_no_op, ValueError, r"empty|shape|fan", id="kaiming-empty"),
    pytest.param(exponential_decay_overflows_to_infinity, ValueError, must("gamma"), id="exponential-overflow"),
    pytest.param(mse_of_empty_tensors_is_nan, ValueError, r"empty", id="mse-empty"),
]


@pytest.mark.parametrize("check, error, match", EITHER_WAY)
def test_edge_input_gives_a_named_error_or_the_right_result(check, error, match):
    error_or(check, error, match)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="no timer signal on this platform")
def test_every_case_runs_under_a_timer_that_interrupts_a_hang():
    """The autouse fixture's timer is running, repeats every second after the first alarm (so a
    loop that swallows one TimeoutError is interrupted again), and really stops an endless loop."""
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    assert 0 < remaining <= TIMEOUT and interval == 1.0
    signal.setitimer(signal.ITIMER_REAL, 0.05)  # one alarm, soon (the fixture resets the timer afterwards)
    with pytest.raises(TimeoutError, match="hang"):
        while True:
            pass
