

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
    assert adam.total == 14 and adam.operations["sqrt"] == 1.0 and adam.state_arrays == 2
    assert adamw.total == adam.total + 2  # the decoupled decay: theta - lr * lambda * theta
    amsgrad = experiments.optimizer_step_cost(lambda p: optim.Adam(p, amsgrad=True), shape=(8, 8), steps=4)
    assert amsgrad.state_arrays == 3  # m, v and, for AMSGrad only, the running maximum of v
    assert np.isfinite(adam.seconds) and adam.seconds > 0


# ----- chapter 2: computation_graph -------------------------------------------------------------
def test_computation_graph_lists_every_node_inputs_first_with_its_operation():
    import numpy as np
    from gradcourse import experiments, tensor

    x, w = tensor(2.0, requires_grad=True), tensor(-0.5, requires_grad=True)
    z = w * x + 1.0
    h = z.sigmoid()
    h.retain_grad()
    loss = (h - tensor(0.25)) ** 2  # (a Tensor constant is a node; a Python number is not)
    loss.backward(retain_graph=True)  # (backward frees the graph unless told to keep it)
    nodes = experiments.computation_graph(loss, names={"x": x, "w": w, "h": h, "L": loss})
    by_name = {node.name: node for node in nodes}
    assert [node.name for node in nodes][-1] == "L" and nodes[0].op in ("leaf", "constant")
    assert by_name["x"].op == by_name["w"].op == "leaf"
    assert by_name["h"].op == "sigmoid" and by_name["L"].op == "**"
    assert [by_name[n].op for n in by_name["h"].inputs] == ["+"]
    assert sorted(by_name[by_name[by_name["h"].inputs[0]].inputs[0]].inputs) == ["w", "x"]
    assert {node.op for node in nodes} >= {"leaf", "constant", "*", "+", "sigmoid", "-", "**"}
    # the gradients stored on the nodes are autograd's: dL/dh = 2 (h - 0.25)
    assert np.isclose(by_name["h"].grad, 2 * (h.data - 0.25))
    assert np.isclose(by_name["w"].grad, 2 * (h.data - 0.25) * h.data * (1 - h.data) * 2.0)
    order = [node.name for node in nodes]
    for node in nodes:  # inputs come before the node that uses them
        assert all(order.index(i) < order.index(node.name) for i in node.inputs)
