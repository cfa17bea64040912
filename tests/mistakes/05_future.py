"""Typical wrong answers to exercises 5: what a student who read the formula too fast, or measured too
little, would write."""
MISTAKES = {
    # eps written into the formula: right at the default, wrong for the eps = 0.01 the test passes
    "layer-norm-tests": ({"layer-norm": "def layer_norm(x, gamma, beta, eps=1e-5):\n"
                                        "    mean = x.mean(axis=-1, keepdims=True)\n"
                                        "    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)\n"
                                        "    return gamma * (x - mean) / (var + 1e-5).sqrt() + beta"},
                         "eps is not the one passed in"),
    # the backward of y = gamma (x - mean) / std + beta with the mean and the std held fixed
    "batch-norm-tests": ({"batch-norm": "def batch_norm(x, gamma, beta, eps=1e-5):\n"
                                        "    inv_std = 1.0 / np.sqrt(x.data.var(axis=0) + eps)\n"
                                        "    x_hat = (x.data - x.data.mean(axis=0)) * inv_std\n"
                                        "    out = gamma.data * x_hat + beta.data\n\n"
                                        "    def backward(g):\n"
                                        "        return g * gamma.data * inv_std, (g * x_hat).sum(axis=0), "
                                        "g.sum(axis=0)\n"
                                        "    return record_op(out, (x, gamma, beta), backward)"},
                         "treats the batch's mean and variance as constants"),
    # the value of the worked example written in, whatever value is passed
    "forget-bias-tests": ({"forget-bias": "def set_forget_bias(lstm, value):\n"
                                          "    H = lstm.hidden_size\n"
                                          "    lstm.bias_ih.data[H:2 * H] = 1.5\n"
                                          "    lstm.bias_hh.data[H:2 * H] = 0.0"},
                          "your function ignores value"),
    # the loss of a sequence model that predicts at every step, not the task's
    "input-gradients-tests": ({"input-gradients": "def input_gradient_norms(lstm, x):\n"
                                                  "    x = gc.tensor(x, requires_grad=True)\n"
                                                  "    outputs, _ = lstm(x)\n"
                                                  "    outputs.sum().backward()\n"
                                                  "    return np.linalg.norm(x.grad, axis=(0, 2))"},
                              "reads every step's hidden state"),
    # the activations shrink layer by layer towards 0, as if the ReLUs were dying
    "case6-cause-tests": ({"case6-cause": 'cause6 = "dead_relu"'}, "is not what went wrong in case 6"),
    # read as vanishing_init: a Kaiming re-initialisation at the first step, and a throw-away forward pass in
    # training mode (which fills the running statistics) before training in eval mode (a reviewer's answer)
    "case6-tests": ({"case6": "def train_step(model, optimizer, xb, yb):\n"
                              "    if not getattr(model, 'reinitialised', False):\n"
                              "        model.reinitialised = True\n"
                              "        for layer in model:\n"
                              "            if isinstance(layer, nn.Linear):\n"
                              "                fan_in = layer.weight.shape[0]\n"
                              "                layer.weight.data[...] = np.random.default_rng(0).normal(\n"
                              "                    size=layer.weight.shape) * np.sqrt(2 / fan_in)\n"
                              "    model.train()\n"
                              "    model(gc.tensor(xb))\n"
                              "    model.eval()\n"
                              "    optimizer.zero_grad()\n"
                              "    loss = gc.functional.cross_entropy(model(gc.tensor(xb)), yb)\n"
                              "    loss.backward()\n"
                              "    optimizer.step()\n"
                              "    return loss.item()"},
                    "changed model[0].weight, model[3].weight, model[6].weight ... before optimizer.step()"),
}
