"""Chapter 2: the computation graph that one backward() walks, node by node.

Our autograd records each operation's name, inputs and backward function on the Tensor it makes;
`computation_graph` reads them back, so a student can list what backpropagation will visit.
"""
from dataclasses import dataclass

import numpy as np

from .. import validation
from ..autograd import Tensor, graph_nodes, graph_was_freed


@dataclass
class GraphNode:
    """One node of a computation graph: `op` made it from `inputs` (names); `grad` is its `.grad`
    (None unless it is a leaf that requires grad, or retain_grad() was called before backward())."""

    name: str
    op: str
    inputs: tuple
    value: np.ndarray
    grad: object


# How the chapter prints the arithmetic ops (every other op shows under its own name, e.g. "sigmoid").
_OP_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def computation_graph(root, names=None):
    """The nodes that produced `root`, inputs first (creation order, a topological order).

    `names`: dict name -> Tensor to label nodes; other nodes are called t1, t2, ... and
    constants c1, c2, .... A node's operation is the name its op recorded (`Tensor._op`).
    backward() frees the graph, so list it before, or after backward(retain_graph=True).
    """
    validation.require(isinstance(root, Tensor), "root", root, "a Tensor (the result whose graph to list)",
                       "computation_graph", TypeError)
    validation.require(names is None or isinstance(names, dict) and all(isinstance(t, Tensor) for t in names.values()),
                       "names", names, "None or a dict of name -> Tensor", "computation_graph", TypeError)
    labels = {id(t): str(name) for name, t in (names or {}).items()}
    graph = list(graph_nodes(root))
    if any(graph_was_freed(node) for node in graph):
        raise RuntimeError("computation_graph: backward() has freed this graph (as PyTorch does); call "
                           "backward(retain_graph=True) to keep it for listing, or list it before backward()")
    nodes, counts = [], {"t": 0, "c": 0}
    for t in sorted(graph, key=lambda t: t._order):
        if id(t) not in labels:
            kind = "t" if t.requires_grad else "c"
            counts[kind] += 1
            labels[id(t)] = f"{kind}{counts[kind]}"
        if t.is_leaf:
            op = "leaf" if t.requires_grad else "constant"
        else:
            op = _OP_SYMBOLS.get(t._op, t._op)
        nodes.append(GraphNode(labels[id(t)], op, tuple(labels[id(p)] for p in t._parents), t.data, t.grad))
    return nodes
