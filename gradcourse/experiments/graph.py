"""Chapter 2: the computation graph that one backward() walks, node by node.

Our autograd records each operation's inputs and backward function on the Tensor it makes;
`computation_graph` reads them back, so a student can list what backpropagation will visit.
"""
from dataclasses import dataclass

import numpy as np

@dataclass
class GraphNode:
    """One node of a computation graph: `op` made it from `inputs` (names); `grad` is its `.grad`
    (None unless it is a leaf that requires grad, or retain_grad() was called before backward())."""

    name: str
    op: str
    inputs: tuple
    value: np.ndarray
    grad: object


_OP_SYMBOLS = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__pow__": "**",
               "__neg__": "neg", "matmul": "@", "__getitem__": "index"}


def computation_graph(root, names=None):
    """The nodes that produced `root`, inputs first (creation order, a topological order).

    `names`: dict name -> Tensor to label nodes; other nodes are called t1, t2, ... and
    constants c1, c2, .... A node's operation is read from its recorded backward function.
    """
    labels = {id(t): name for name, t in (names or {}).items()}
    seen, stack = {id(root): root}, [root]
    while stack:
        for parent in stack.pop()._parents:
            if id(parent) not in seen:
                seen[id(parent)] = parent
                stack.append(parent)
    nodes, counts = [], {"t": 0, "c": 0}
    for t in sorted(seen.values(), key=lambda t: t._order):
        if id(t) not in labels:
            kind = "t" if t.requires_grad else "c"
            counts[kind] += 1
            labels[id(t)] = f"{kind}{counts[kind]}"
        if t._backward is None:
            op = "leaf" if t.requires_grad else "constant"
        else:
            op = t._backward.__qualname__.split(".<locals>")[0].split(".")[-1]
        nodes.append(GraphNode(labels[id(t)], _OP_SYMBOLS.get(op, op),
                               tuple(labels[id(p)] for p in t._parents), t.data, t.grad))
    return nodes
