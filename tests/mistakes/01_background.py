"""Typical wrong answers to exercises 1: the gradients cleared too late, a forgotten return, the other gradient.

(More typical mistakes of each exercise, a learning rate of one's own, the biases counted, ..., are in
tests/test_exercises_01.py and section 01 of tests/test_exercises.py.)"""
MISTAKES = {
    # clears the gradients between backward() and step(), so the step has nothing to apply
    "training-step-tests": ({"training-step": 'def training_step(model, X, y, optimizer):\n'
                                              '    loss = F.mse_loss(model(X), y)\n'
                                              '    loss.backward()\n'
                                              '    optimizer.zero_grad()\n'
                                              '    optimizer.step()\n'
                                              '    return loss.item()'},
                            "cleared the gradient before optimizer.step()"),
    # the norms are computed but not returned
    "layer-gradient-norms-tests": ({"layer-gradient-norms": 'def layer_gradient_norms(model):\n'
                                                            '    norms = [float(np.linalg.norm(layer.weight.grad))\n'
                                                            '             for layer in model if isinstance(layer, nn.Linear)]'},
                                   "layer_gradient_norms returned None: add a return"),
    # the weight gradients, the other gradient of each layer
    "gradients-reaching-layers-tests": ({"gradients-reaching-layers": 'def gradients_reaching_layers(model, X, y):\n'
                                                                      '    F.mse_loss(model(X), y).backward()\n'
                                                                      '    return [float(np.linalg.norm(layer.weight.grad))\n'
                                                                      '            for layer in model if isinstance(layer, nn.Linear)]'},
                                        "these are the weight gradients dL/dW_l"),
}
