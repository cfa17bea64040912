"""Typical wrong answers to exercises 6: what a student who read the task too fast, or measured too
little, would write."""
MISTAKES = {
    # the fraction of zero entries, not of units that are zero for every example
    "dead-relu-tests": ({"dead-relu": "def dead_relu_fraction(activations):\n"
                                      "    return float(np.mean(activations == 0))"},
                        "fraction of zero entries"),
    # the first loss taken before the loop and never checked: a nan there does not end the test
    "lr-range-test-tests": ({"lr-range-test": "def lr_range_test(step_fn, lr_min, lr_max, steps, diverge_factor=4.0):\n"
                                              "    lrs, losses = [lr_min], [step_fn(lr_min)]\n"
                                              "    best = losses[0]\n"
                                              "    for i in range(1, steps):\n"
                                              "        lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))\n"
                                              "        loss = step_fn(lr)\n"
                                              "        lrs.append(lr)\n"
                                              "        losses.append(loss)\n"
                                              "        if not math.isfinite(loss) or loss > diverge_factor * best:\n"
                                              "            break\n"
                                              "        best = min(best, loss)\n"
                                              "    return lrs, losses"},
                            "never checked the first loss"),
    # np.argmin returns the position of a nan
    "suggest-lr-tests": ({"suggest-lr": "def suggest_lr(lrs, losses):\n"
                                        "    return lrs[int(np.argmin(losses))] / 10"},
                         "np.nanargmin"),
    # a loss that ends as nan, read as a learning rate past the edge, without measuring the network at init
    "case7-cause-tests": ({"case7-cause": 'cause7 = "lr_too_high"'}, "is not what went wrong in case 7"),
    # the biases start at 0 already: zeroing them leaves the weights' scale, which sets the growth
    "case7-tests": ({"case7": "def repair7(model):\n"
                              "    for layer in model:\n"
                              "        if isinstance(layer, nn.Linear):\n"
                              "            layer.bias.data[...] = 0.0"},
                    "the activations still grow layer by layer"),
    # |dL/dh_t| read forwards in time: it falls from h_1 to h_8, that is, it grows back through time
    "case8-cause-tests": ({"case8-cause": 'cause8 = "vanishing_recurrent"'}, "is not what went wrong in case 8"),
    # no recurrence at all: h_8 reads the last row only, and no gradient reaches h_1, ..., h_7
    "case8-tests": ({"case8": "def repair8(model):\n"
                              "    model.rnn.weight_hh.data[...] = 0.0"},
                    "vanishes back through time"),
}
