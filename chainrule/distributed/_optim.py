"""`DistributedOptimizer`, parameter and optimiser-state broadcast, and `allreduce` on pytrees."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._functional import tree_flatten, tree_unflatten
from .._graph import is_grad_enabled
from .._tensor import Tensor
from ..optim._optimizers import _set
from ._comm import Communicator, DistributedError


def _communicator(comm: Communicator | None) -> Communicator:
    if comm is not None:
        return comm
    from . import world

    return world()


def _parameters(model_or_params: Any) -> list[Tensor]:
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") else list(model_or_params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"broadcast_parameters: parameter {i} is a {type(p).__name__}, not a Tensor")
    return params


def broadcast_parameters(model_or_params: Any, root: int = 0, comm: Communicator | None = None) -> None:
    """Overwrite every rank's parameters with rank ``root``'s, in place (one broadcast per dtype), so all
    ranks start from the same weights. ``model_or_params``: a `chainrule.nn.Module` or a list of Tensors.

    >>> import chainrule.nn as nn
    >>> net = nn.mlp([4, 3, 2], rng=0)
    >>> broadcast_parameters(net)           # every rank now holds rank 0's initial weights
    """
    comm = _communicator(comm)
    params = _parameters(model_or_params)
    values = comm.broadcast_arrays([p.data for p in params], root, "broadcast_parameters")
    for p, value in zip(params, values, strict=True):
        if comm.rank != root:
            _set(p, value)


def broadcast_optimizer_state(optimizer: Any, root: int = 0, comm: Communicator | None = None) -> None:
    """Give every rank rank ``root``'s optimiser state (hyper-parameters, step counts, moment buffers), e.g.
    after rank ``root`` alone restored a checkpoint.

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> adam = optim.Adam(nn.mlp([4, 3, 2], rng=0).parameters())
    >>> broadcast_optimizer_state(adam)
    """
    comm = _communicator(comm)
    if comm.size == 1:
        return
    header = None
    if comm.rank == root:
        state = optimizer.state_dict()
        header = json.dumps({"type": state["type"], "hyper": state["hyper"], "scalars": state["scalars"],
                             "buffers": [[k, list(v.shape), v.dtype.str] for k, v in state["buffers"].items()]})
    spec = json.loads(comm.broadcast_bytes(header.encode() if header else None, root,
                                          "broadcast_optimizer_state (header)"))
    if spec["type"] != type(optimizer).__name__:
        raise DistributedError(f"broadcast_optimizer_state: rank {root} has a {spec['type']}, rank {comm.rank} "
                               f"a {type(optimizer).__name__}")
    names = [name for name, _, _ in spec["buffers"]]
    buffers = [state["buffers"][name] if comm.rank == root else np.empty(shape, dtype=np.dtype(dtype))
               for name, shape, dtype in spec["buffers"]]
    buffers = comm.broadcast_arrays(buffers, root, "broadcast_optimizer_state")
    if comm.rank != root:
        optimizer.load_state_dict({"type": spec["type"], "hyper": spec["hyper"], "scalars": spec["scalars"],
                                   "buffers": {name: np.array(b) for name, b in zip(names, buffers, strict=True)}})


class DistributedOptimizer:
    """Wrap an optimiser so that ``step()`` first averages the gradients over all ranks, then updates.

    The averaging is one ``Allreduce`` per dtype: every parameter's gradient is packed into one contiguous
    buffer (with one extra slot per parameter counting the ranks that have a gradient for it, so a parameter
    no rank touched keeps ``grad = None`` and is skipped as before). ``.grad`` is then the averaged gradient
    (a view into that buffer) and the wrapped optimiser runs unchanged — so the wrapper works wherever an
    optimiser is stepped: `chainrule.train.fit` (eager and ``compiled=True``) and
    `chainrule.train.compiled_step`.

    - ``sampler``: the `DistributedSampler` feeding this rank; each rank's gradient is then weighted by its
      share of the global batch (``sampler.shard_weight``), which makes an uneven last batch exact too.
      Without it, the plain mean over ranks.
    - ``broadcast`` (default True): start from rank 0's parameters and optimiser state.

    ``state_dict()``/``load_state_dict()``, ``zero_grad()``, ``params`` and ``lr`` are the wrapped
    optimiser's, so checkpoints and schedules are the same as in one process.

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> net = nn.mlp([4, 3, 2], rng=0)
    >>> opt = DistributedOptimizer(optim.SGD(net.parameters(), lr=0.1))
    >>> net(chainrule.tensor(np.ones((5, 4)))).sum().backward()
    >>> opt.step()                      # the mean gradient over the ranks, then the SGD update
    >>> net.parameters()[1].grad.shape
    (3,)
    """

    def __init__(self, optimizer: Any, comm: Communicator | None = None, sampler: Any = None,
                 broadcast: bool = True) -> None:
        self.optimizer, self.comm, self.sampler = optimizer, _communicator(comm), sampler
        params = optimizer.params
        self._layout = self._plan(params)
        self.comm.check_same([[list(p.shape), p.dtype.str] for p in params], "DistributedOptimizer")
        if broadcast:
            broadcast_parameters(params, 0, self.comm)
            broadcast_optimizer_state(optimizer, 0, self.comm)

    @staticmethod
    def _plan(params: list[Tensor]) -> dict[np.dtype, tuple[list[int], int]]:
        """Per dtype: the parameter positions packed into its buffer, and the buffer's length."""
        plan: dict[np.dtype, tuple[list[int], int]] = {}
        for i, p in enumerate(params):
            members, length = plan.get(p.dtype, ([], 0))
            plan[p.dtype] = ([*members, i], length + p.size + 1)
        return plan

    # the wrapped optimiser's surface
    @property
    def params(self) -> list[Tensor]:
        """The wrapped optimiser's parameters.

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> net = nn.Linear(2, 1, rng=0)
        >>> DistributedOptimizer(optim.SGD(net.parameters(), lr=0.1)).params == net.parameters()
        True
        """
        return self.optimizer.params

    @property
    def lr(self) -> float:
        """The wrapped optimiser's learning rate (schedules set it through the wrapper).

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> opt = DistributedOptimizer(optim.SGD(nn.Linear(2, 1, rng=0).parameters(), lr=0.1))
        >>> opt.lr = 0.05; opt.lr, opt.optimizer.lr
        (0.05, 0.05)
        """
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = value

    def zero_grad(self) -> None:
        """The wrapped optimiser's ``zero_grad()``: every parameter's ``.grad`` back to None.

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> net = nn.Linear(2, 1, rng=0)
        >>> opt = DistributedOptimizer(optim.SGD(net.parameters(), lr=0.1))
        >>> net(chainrule.tensor(np.ones((3, 2)))).sum().backward()
        >>> opt.zero_grad(); net.weight.grad is None
        True
        """
        self.optimizer.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimiser's state (the same on every rank), so checkpoints are those of one process.

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> opt = DistributedOptimizer(optim.Adam(nn.Linear(2, 1, rng=0).parameters(), lr=0.01))
        >>> opt.state_dict()["type"], opt.state_dict()["hyper"]["lr"]
        ('Adam', 0.01)
        """
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the wrapped optimiser's state (from `state_dict` or a checkpoint).

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> opt = DistributedOptimizer(optim.SGD(nn.Linear(2, 1, rng=0).parameters(), lr=0.1))
        >>> opt.load_state_dict({"type": "SGD", "hyper": {"lr": 0.02}, "scalars": {}, "buffers": {}}); opt.lr
        0.02
        """
        self.optimizer.load_state_dict(state)

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r}, {self.comm!r})"

    def allreduce_gradients(self) -> None:
        """Replace every parameter's ``.grad`` by its weighted mean over the ranks (in place of step).

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> net = nn.Linear(2, 1, rng=0)
        >>> opt = DistributedOptimizer(optim.SGD(net.parameters(), lr=0.1))
        >>> net.weight.grad = np.array([[2.0], [4.0]])  # and no gradient for the bias
        >>> opt.allreduce_gradients()
        >>> net.weight.grad.ravel(), net.bias.grad is None  # (one rank here: the mean is its own gradient)
        (array([2., 4.], dtype=float32), True)
        """
        weight = self.sampler.shard_weight if self.sampler is not None else 1.0 / self.comm.size
        params = self.optimizer.params
        for dtype, (members, length) in self._layout.items():
            buffer = np.empty(length, dtype=dtype)
            start = 0
            for i in members:
                p = params[i]
                view = buffer[start:start + p.size].reshape(p.shape)
                g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
                if g is None:
                    view[...] = 0
                elif np.shape(g) != p.shape:
                    raise DistributedError(f"DistributedOptimizer: parameter {i} has shape {p.shape} but its "
                                           f"gradient has shape {np.shape(g)}")
                else:
                    np.multiply(g, weight, out=view)
                buffer[start + p.size] = 0 if g is None else 1  # how many ranks have a gradient
                start += p.size + 1
            self.comm.allreduce_buffer(buffer, f"gradient allreduce of {len(members)} {dtype} parameter(s)")
            start = 0
            for i in members:
                p = params[i]
                present = buffer[start + p.size] > 0
                p.grad = buffer[start:start + p.size].reshape(p.shape) if present else None
                start += p.size + 1

    def step(self) -> None:
        """Average the gradients over the ranks, then apply the wrapped optimiser's update.

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> net = nn.Linear(1, 1, bias=False, rng=0, dtype=np.float64)
        >>> net.weight.data[:] = 1.0
        >>> opt = DistributedOptimizer(optim.SGD(net.parameters(), lr=0.1))
        >>> net.weight.grad = np.array([[0.5]])
        >>> opt.step(); net.weight.data  # 1 − 0.1 · (the mean gradient over the ranks)
        array([[0.95]])
        """
        self.allreduce_gradients()
        self.optimizer.step()


def _leaf_array(leaf: Any, what: str) -> np.ndarray:
    if isinstance(leaf, Tensor):
        if leaf.requires_grad and is_grad_enabled():
            raise TypeError(f"{what}: got a Tensor that requires grad; the collective is not differentiable, "
                            f"so its gradient would be dropped. Reduce the gradients instead (the results of "
                            f"chainrule.grad), or pass t.detach()")
        return leaf.data
    if isinstance(leaf, (np.ndarray, np.generic, float, int, bool, complex)):
        return np.asarray(leaf)
    raise TypeError(f"{what}: leaves must be arrays, Tensors or numbers; got {type(leaf).__name__}")


def _rebuild(leaves: list[Any], values: list[np.ndarray]) -> list[Any]:
    return [type(leaf)(value) if isinstance(leaf, (float, int, bool, complex)) else value
            for leaf, value in zip(leaves, values, strict=True)]


def allreduce(tree: Any, op: str = "mean", comm: Communicator | None = None, check: bool = True) -> Any:
    """The elementwise mean (``op="mean"``) or sum (``op="sum"``) over all ranks of every leaf of a pytree
    (nested tuples/lists/dicts of arrays and numbers), in the same structure: the gradient average of the
    functional API. One collective per dtype; the structures must be equal on all ranks, which ``check``
    verifies first (three small collectives: pass False in a loop whose structure cannot change).

    >>> loss = lambda w, x: chainrule.numpy.sum((x @ w) ** 2)
    >>> x_shard = np.ones((2, 3))                                # this rank's examples
    >>> allreduce(chainrule.grad(loss)(np.ones(3), x_shard))     # the mean over the ranks (one rank here)
    array([12., 12., 12.])
    """
    if op not in ("mean", "sum"):
        raise ValueError(f"allreduce: op must be 'mean' or 'sum'; got {op!r}")
    comm = _communicator(comm)
    leaves, spec = tree_flatten(tree)
    arrays = [_leaf_array(leaf, "allreduce") for leaf in leaves]
    if check:
        comm.check_same([[list(a.shape), a.dtype.str] for a in arrays], "allreduce")
    values = comm.allreduce_arrays(arrays, average=op == "mean", what="allreduce")
    return tree_unflatten(spec, _rebuild(leaves, values))


def broadcast(tree: Any, root: int = 0, comm: Communicator | None = None) -> Any:
    """Rank ``root``'s values of every leaf of a pytree, on every rank (structures equal on all ranks).

    >>> broadcast({"w": np.arange(3.0), "lr": 0.1})
    {'w': array([0., 1., 2.]), 'lr': 0.1}
    """
    comm = _communicator(comm)
    leaves, spec = tree_flatten(tree)
    arrays = [_leaf_array(leaf, "broadcast") for leaf in leaves]
    return tree_unflatten(spec, _rebuild(leaves, comm.broadcast_arrays(arrays, root, "broadcast")))
