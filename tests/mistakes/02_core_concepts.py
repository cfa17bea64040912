"""Typical wrong answers to exercises 2: a factor left out, a requirement read too narrowly, a run
repaired where it does not hurt."""
MISTAKES = {
    "sigmoid-tests": ({"sigmoid": "def sigmoid(x):\n"
                                  "    s = 1.0 / (1.0 + np.exp(-x.data))\n"
                                  "    return record_op(s, (x,), lambda g: (g * s,))  # the factor (1 - s) left out"},
                      "is missing the factor (1 - sigma(x))"),
    "linreg-gradient-tests": ({"linreg-gradient": "def linreg_gradient(X, theta, y):\n"
                                                  "    return X.T @ (X @ theta - y) / len(y)"},
                              "keep the factor 2"),
    # right for the sigmoid, which the text's example is about, and for no other activation
    "jacobian-bound-tests": ({"jacobian-bound": "def jacobian_bound(weights, max_slope):\n"
                                               "    bound = 1.0\n"
                                               "    for W in weights:\n"
                                               "        bound *= 0.25 * np.linalg.norm(W, 2)  # the sigmoid's slope\n"
                                               "    return bound"},
                             "whatever max_slope is"),
    # Glorot's scale for ReLU too
    "init-weight-tests": ({"init-weight": "def init_weight(fan_in, fan_out, nonlinearity, rng):\n"
                                          "    gain = 5.0 / 3.0 if nonlinearity == 'tanh' else 1.0\n"
                                          "    return rng.normal(0.0, gain / np.sqrt(fan_in), size=(fan_in, fan_out))"},
                          "the std halves every 2 layers"),
    "jacobian-spectrum-tests": ({"jacobian-spectrum": "def jacobian_singular_values(model, x):\n"
                                                      "    inp = gc.tensor(x.reshape(1, -1), requires_grad=True)\n"
                                                      "    out = model(inp)\n"
                                                      "    rows = []\n"
                                                      "    for i in range(out.shape[1]):\n"
                                                      "        g = np.zeros(out.shape)\n"
                                                      "        g[0, i] = 1.0\n"
                                                      "        out.backward(g, retain_graph=True)  # .grad still holds the rows before\n"
                                                      "        rows.append(inp.grad[0].copy())\n"
                                                      "    return np.linalg.svd(np.array(rows), compute_uv=False)"},
                                "the rows add up"),
    # the gradient reaching the layers grows towards the input, as if it exploded
    "case4-cause-tests": ({"case4-cause": 'cause4 = "exploding_init"'}, "is not what went wrong in case 4"),
    # a partial repair (review, round 2): every weight scaled down, but not enough; it used to score ✓ on
    # seeds 0-2 and 0 on the hidden seeds 3-5, and now fails the visible saturation bound (45% to 50%)
    "case4-tests": ({"case4": "def repair(model):\n"
                              "    for layer in model:\n"
                              "        if isinstance(layer, nn.Linear):\n"
                              "            layer.weight.data *= 0.42"},
                    "the task allows at most 40% in every layer"),
}
