"""Typical wrong answers to exercises 4: what a student who measured too little would write."""
MISTAKES = {
    "case1-tests": ({"case1": 'cause1 = "lr_too_high"\nlr = 0.01'},  # far below the edge: too slow for 200 steps
                    "the loss falls, but too slowly"),
    # the right repair does not save a wrong diagnosis
    "case2-tests": ({"case2-cause": 'cause2 = "saturated_init"'}, '"saturated_init"'),
    "case3-tests": ({"case3": 'def train_step(model, optimizer, xb, yb):\n'
                              '    loss = gc.functional.cross_entropy(model(gc.tensor(xb)), yb)\n'
                              '    loss.backward()\n'
                              '    optimizer.zero_grad()  # too late: backward() has already filled .grad\n'
                              '    optimizer.step()\n    return loss.item()'},
                    "the parameters have no gradient"),
    "regression-loss-tests": ({"regression-loss": "def regression_loss(pred, target):\n"
                                                  "    return ((pred - target) ** 2).mean()"},
                              "broadcasts to a matrix"),
}
