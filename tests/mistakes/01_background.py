"""Typical wrong answers to exercises 1: a learning rate of one's own, the biases counted, the other gradient."""
MISTAKES = {
    # updates the parameters itself, at a rate of its own, instead of calling optimizer.step()
    "training-step-tests": ({"training-step": 'def training_step(model, X, y, optimizer):\n'
                                              '    optimizer.zero_grad()\n'
                                              '    loss = F.mse_loss(model(X), y)\n'
                                              '    loss.backward()\n'
                                              '    for p in model.parameters():\n'
                                              '        p.data -= 0.1 * p.grad\n'
                                              '    return loss.item()'},
                            "the optimiser's learning rate is 0.03"),
    "layer-gradient-norms-tests": ({"layer-gradient-norms": 'def layer_gradient_norms(model):\n'
                                                            '    return [float(np.linalg.norm(p.grad)) '
                                                            'for p in model.parameters()]'},
                                   "leave the biases out"),
    # the weight gradients, the other gradient of each layer
    "gradients-reaching-layers-tests": ({"gradients-reaching-layers": 'def gradients_reaching_layers(model, X, y):\n'
                                                                      '    F.mse_loss(model(X), y).backward()\n'
                                                                      '    return [float(np.linalg.norm(layer.weight.grad))\n'
                                                                      '            for layer in model if isinstance(layer, nn.Linear)]'},
                                        "these are the weight gradients dL/dW_l"),
}
