"""Typical wrong answers to exercises 4: what a student who measured too little would write."""
MISTAKES = {
    "regression-loss-tests": ({"regression-loss": "def regression_loss(pred, target):\n"
                                                  "    return ((pred - target) ** 2).mean()"},
                              "broadcasts to a matrix"),
    # case 1's units do end up dead, but only after the first steps at lr = 3: a consequence, not the cause
    "case1-cause-tests": ({"case1-cause": 'cause1 = "dead_relu"'}, '"dead_relu"'),
    "case1-tests": ({"case1": "lr = 0.01"},  # far below the edge: too slow for 200 steps
                    "the loss falls, but too slowly"),
    "case2-cause-tests": ({"case2-cause": 'cause2 = "saturated_init"'}, "is not what went wrong in case 2"),
    "case2-tests": ({"case2": "def repair(model):\n    for layer in (model[0], model[2]):\n"
                              "        gc.init.kaiming_normal_(layer.weight, nonlinearity='relu')"},
                    "still 0"),
    # the loss rises as the run goes on, as if the rate were too high
    "case3-cause-tests": ({"case3-cause": 'cause3 = "lr_too_high"'}, "is not what went wrong in case 3"),
    "case3-tests": ({"case3": "def train_step(model, optimizer, xb, yb):\n"
                              "    loss = gc.functional.cross_entropy(model(gc.tensor(xb)), yb)\n"
                              "    loss.backward()\n"
                              "    optimizer.zero_grad()  # too late: backward() has already filled .grad\n"
                              "    optimizer.step()\n    return loss.item()"},
                    "did not move the weights"),
}
