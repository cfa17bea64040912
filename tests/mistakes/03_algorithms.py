"""Typical wrong answers to exercises 3: each scores 0, with a message that names the mistake."""
MISTAKES = {
    # lr_min is dropped: the visible check passes lr_min = 0.01, so this fails there (it once printed ✓)
    "cosine-lr-tests": ({"cosine-lr": "def cosine_lr(t, lr_max, total_steps, lr_min=0.0):\n"
                                      "    progress = min(t, total_steps) / total_steps\n"
                                      "    return lr_max * (1 + math.cos(math.pi * progress)) / 2"},
                        "lr_min is ignored"),
    "adam-step-tests": ({"adam-step": "def adam_step(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                                      "    m = beta1 * m + (1 - beta1) * g\n"
                                      "    v = beta2 * v + (1 - beta2) * g**2\n"
                                      "    m_hat = m / (1 - beta1**t)\n"
                                      "    v_hat = v / (1 - beta2**t)\n"
                                      "    theta = theta - lr * m_hat / np.sqrt(v_hat + eps)\n"
                                      "    return theta, m, v"},
                        "epsilon is inside the square root"),
    "residual-block-tests": ({"residual-block": "class ResidualBlock(nn.Module):\n"
                                                "    def __init__(self, width):\n"
                                                "        self.fc1 = nn.Linear(width, width)\n"
                                                "        self.fc2 = nn.Linear(width, width)\n\n"
                                                "    def forward(self, x):\n"
                                                "        return self.fc2(F.relu(self.fc1(x)))"},
                             "the skip connection is missing"),
    "clip-grad-norm-tests": ({"clip-grad-norm": "def clip_grad_norm(params, max_norm):\n"
                                                "    total_norm = 0.0\n"
                                                "    for p in params:\n"
                                                "        if p.grad is None:\n"
                                                "            continue\n"
                                                "        norm = float(np.sqrt(np.sum(p.grad**2)))\n"
                                                "        total_norm = float(np.sqrt(total_norm**2 + norm**2))\n"
                                                "        if norm > max_norm:\n"
                                                "            p.grad *= max_norm / norm\n"
                                                "    return total_norm"},
                             "each gradient was clipped on its own"),
    # what the loss alone suggests; the lengths of the steps say otherwise
    "case5-cause-tests": ({"case5-cause": 'cause5 = "lr_too_high"'}, '"lr_too_high"'),
    # a reviewer's answer that scored 3/3 once: the clipped, accumulated gradient still trains case 5
    "case5-tests": ({"case5": "def train_step(model, optimizer, xb, yb):\n"
                              "    loss = gc.functional.cross_entropy(model(gc.tensor(xb)), yb)\n"
                              "    loss.backward()\n"
                              "    gc.optim.clip_grad_norm_(model.parameters(), casebook.CASE5_MAX_NORM)\n"
                              "    optimizer.step()\n"
                              "    return loss.item()"},
                    "the gradients accumulate"),
}
