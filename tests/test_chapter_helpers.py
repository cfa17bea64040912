

# ----- chapter 3c: optimizer_step_cost ----------------------------------------------------------
def test_optimizer_step_cost_counts_the_docstring_equations():
    import numpy as np
    from gradcourse import experiments, optim

    sgd = experiments.optimizer_step_cost(lambda p: optim.SGD(p, lr=0.1), shape=(8, 8), steps=4)
    adam = experiments.optimizer_step_cost(lambda p: optim.Adam(p), shape=(8, 8), steps=4)
    adamw = experiments.optimizer_step_cost(lambda p: optim.AdamW(p), shape=(8, 8), steps=4)
    # SGD: theta <- theta - lr * g, one multiply and one subtract
    assert sgd.operations == {"multiply": 1.0, "subtract": 1.0} and sgd.state_arrays == 0
    # Adam: 3 for m_t, 4 for v_t, 2 bias corrections, sqrt, + eps, lr *, divide, subtract
    assert adam.total == 14 and adam.operations["sqrt"] == 1.0 and adam.state_arrays >= 2
    assert adamw.total == adam.total + 2  # the decoupled decay: theta - lr * lambda * theta
    assert np.isfinite(adam.seconds) and adam.seconds > 0
