"""`Module` and `Parameter`: the containers a network is made of.

A module owns Parameters (Tensors that require grad) and sub-modules, found by walking its attributes
(plain attributes, and lists/tuples of modules). Walks are iterative and follow attribute order, so
parameter names are stable: ``0.weight``, ``0.bias``, ``2.weight`` ... for a `Sequential`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

import chainrule as cr


class Parameter(cr.Tensor):
    """A Tensor that a `Module` trains: a floating-point leaf with ``requires_grad=True``.

    >>> w = Parameter(np.zeros((3, 2)))
    >>> w.requires_grad, w.shape
    (True, (3, 2))
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None):
        if isinstance(data, cr.Tensor):
            data = data.data
        array = np.array(data, dtype=dtype, copy=True)
        if array.dtype.kind not in "f":
            array = array.astype(np.float64)
        super().__init__(array, requires_grad=True, name=name)


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    """(name, item) for the Parameters and Modules directly held by an attribute value."""
    if isinstance(value, (Parameter, Module)):
        yield "", value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, (Parameter, Module)):
                yield str(i), item


class Module:
    """Base class of layers and models. Subclasses set Parameters and sub-modules as attributes and
    define ``forward``; calling the module calls ``forward``.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(np.ones(2))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    training: bool

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module computes; every subclass defines it (``module(x)`` calls ``forward(x)``).

        >>> class Double(Module):
        ...     def forward(self, x):
        ...         return 2 * x
        >>> Double()(chainrule.tensor([1.0, 2.0])).data
        array([2., 4.])
        >>> Module()(1.0)
        Traceback (most recent call last):
            ...
        NotImplementedError: Module does not define forward()
        """
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- walking the tree -----------------------------------------------------------------------------
    def _direct(self) -> Iterator[tuple[str, Parameter | Module]]:
        for attribute, value in vars(self).items():
            for suffix, item in _children(value):
                yield (f"{attribute}.{suffix}" if suffix else attribute), item

    def named_modules(self) -> list[tuple[str, Module]]:
        """All modules in the tree, this one first (name ``""``), in attribute order.

        >>> import chainrule.nn as nn
        >>> net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Sequential(nn.Linear(3, 1, rng=1)))
        >>> [(name, type(m).__name__) for name, m in net.named_modules()]
        [('', 'Sequential'), ('0', 'Linear'), ('1', 'Tanh'), ('2', 'Sequential'), ('2.0', 'Linear')]
        """
        found: list[tuple[str, Module]] = []
        stack: list[tuple[str, Module]] = [("", self)]
        seen: set[int] = set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            found.append((name, module))
            subs = [(f"{name}.{n}" if name else n, m) for n, m in module._direct() if isinstance(m, Module)]
            stack.extend(reversed(subs))
        return found

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs, each Parameter once, in a stable order.

        >>> import chainrule.nn as nn
        >>> net = nn.mlp([2, 3, 1], rng=0)
        >>> [(name, p.shape) for name, p in net.named_parameters()]
        [('0.weight', (2, 3)), ('0.bias', (3,)), ('2.weight', (3, 1)), ('2.bias', (1,))]
        """
        found: list[tuple[str, Parameter]] = []
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, item in module._direct():
                if isinstance(item, Parameter) and id(item) not in seen:
                    seen.add(id(item))
                    found.append((f"{prefix}.{name}" if prefix else name, item))
        return found

    def parameters(self) -> list[Parameter]:
        """The Parameters of this module and its sub-modules (what an optimiser trains).

        >>> import chainrule.nn as nn
        >>> net = nn.mlp([2, 3, 1], rng=0)
        >>> [p.shape for p in net.parameters()], all(p.requires_grad for p in net.parameters())
        ([(2, 3), (3,), (3, 1), (1,)], True)
        """
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """Total number of scalar parameters.

        >>> import chainrule.nn as nn
        >>> nn.mlp([784, 128, 10], rng=0).num_parameters()  # 784·128 + 128 + 128·10 + 10
        101770
        """
        return sum(p.size for p in self.parameters())

    # ---- buffers: arrays a module keeps and saves but does not train (BatchNorm's running statistics) --
    def register_buffer(self, name: str, value: Any) -> None:
        """Keep ``value`` (an ndarray) as attribute ``name``, saved in `state_dict` beside the parameters.

        >>> class Counter(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.register_buffer("seen", np.zeros(1))
        ...     def forward(self, x):
        ...         self.seen += len(x)
        ...         return x
        >>> c = Counter(); _ = c(np.ones((5, 2)))
        >>> c.state_dict(), c.parameters()
        ({'seen': array([5.])}, [])
        """
        if not hasattr(self, "_buffer_names"):
            self._buffer_names: list[str] = []
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        setattr(self, name, np.array(value, copy=True))

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        """``(dotted name, array)`` pairs of every buffer in the tree.

        >>> import chainrule.nn as nn
        >>> net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.BatchNorm1d(2))
        >>> [name for name, _ in net.named_buffers()]
        ['1.running_mean', '1.running_var']
        """
        found = []
        for prefix, module in self.named_modules():
            for name in getattr(module, "_buffer_names", ()):
                found.append((f"{prefix}.{name}" if prefix else name, getattr(module, name)))
        return found

    # ---- state ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's and buffer's values, by dotted name (``0.weight``, ``1.running_mean``).

        >>> import chainrule.nn as nn
        >>> net = nn.Linear(2, 1, rng=0)
        >>> state = net.state_dict()
        >>> sorted(state), state["bias"]
        (['bias', 'weight'], array([0.], dtype=float32))
        >>> state["bias"][0] = 5.0; float(net.bias.data[0])  # a copy: the model is unchanged
        0.0
        """
        from .._namespace import on_host

        state = {name: on_host(p.data) for name, p in self.named_parameters()}  # (NumPy, from any device)
        state.update((name, on_host(b)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy values from ``state`` (as made by `state_dict`) into the parameters and buffers.

        With ``strict`` (default) the names must match exactly; shapes must always match, and values must
        be floating-point numbers. Nothing is changed unless every entry fits.

        >>> import chainrule.nn as nn
        >>> net = nn.Linear(2, 1, rng=0)
        >>> net.load_state_dict({"weight": np.zeros((3, 1))})
        Traceback (most recent call last):
        ...
        KeyError: "load_state_dict: Linear's parameter names do not match the state (missing: ['bias'])"
        """
        from .._namespace import device_of, numpy_dtype, on_host, to_device

        params = dict(self.named_parameters())
        owners = {}
        for prefix, module in self.named_modules():
            for name in getattr(module, "_buffer_names", ()):
                owners[f"{prefix}.{name}" if prefix else name] = (module, name)
        known = {**{name: p.shape for name, p in params.items()},
                 **{name: np.shape(getattr(m, attr)) for name, (m, attr) in owners.items()}}
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict of arrays by name; got {type(state).__name__}")
        missing = [n for n in known if n not in state]
        unexpected = [n for n in state if n not in known]
        if strict and (missing or unexpected):
            parts = ([f"missing: {missing}"] if missing else []) + ([f"unexpected: {unexpected}"] if unexpected else [])
            raise KeyError(f"load_state_dict: {type(self).__name__}'s parameter names do not match the state "
                           f"({'; '.join(parts)})")
        values = {}
        for name, shape in known.items():
            if name not in state:
                continue
            value = on_host(state[name].data if isinstance(state[name], cr.Tensor) else state[name])
            if value.shape != shape:
                raise ValueError(f"load_state_dict: '{name}' has shape {value.shape} in the state, "
                                 f"but the model expects {shape}")
            if value.dtype.kind not in "fiu":
                raise TypeError(f"load_state_dict: '{name}' holds {value.dtype} values; expected numbers")
            values[name] = value
        def placed(value: np.ndarray, like: Any) -> Any:  # in the dtype, and on the device, of what it replaces
            value = value.astype(numpy_dtype(like.dtype), copy=True)
            device = device_of(like)
            return value if device == "cpu" and isinstance(like, np.ndarray) else to_device(value, device)

        for name, value in values.items():
            if name in params:
                p = params[name]
                p.data = placed(value, p.data)
                p.grad = None
            else:
                module, attr = owners[name]
                setattr(module, attr, placed(value, getattr(module, attr)))

    def to(self, target: Any) -> Module:
        """Move or cast the module in place and return it, as ``torch.nn.Module.to`` does. ``target`` is a
        device — ``"cpu"`` (NumPy arrays, from any array library), ``"cuda"`` / ``"cuda:N"`` (CuPy arrays;
        untested on a GPU: none was available), or an array library's device object such as
        ``array_api_strict.Device("device1")`` — or a dtype (``np.float64`` for gradcheck: every parameter and
        floating-point buffer is cast). Parameters and floating-point buffers move; gradients are dropped.
        Optimiser state made after the move lives on the new device.

        >>> model = chainrule.nn.mlp([2, 3, 1], rng=0)
        >>> model.to("cpu").parameters()[0].data.__class__.__name__
        'ndarray'
        >>> model.to(np.float64).parameters()[0].dtype
        dtype('float64')
        """
        from .._namespace import is_device, is_floating, to_device

        if is_device(target) and not (isinstance(target, str) and _is_dtype_name(target)):
            for p in self.parameters():
                p.data, p.grad = to_device(p.data, target), None
            for _, module in self.named_modules():
                for name in getattr(module, "_buffer_names", ()):
                    value = getattr(module, name)
                    if is_floating(value):
                        setattr(module, name, to_device(value, target))
            return self
        if isinstance(target, str) and target.partition(":")[0] not in ("cpu", "cuda") and not _is_dtype_name(target):
            raise ValueError(f"Module.to: unknown device {target!r} (nor a dtype); expected 'cpu', 'cuda', "
                             f"'cuda:N', an array API device object, or a dtype")
        for _, p in self.named_parameters():
            p.data, p.grad = p.data.astype(target), None
        for _, module in self.named_modules():
            for name in getattr(module, "_buffer_names", ()):
                value = getattr(module, name)
                if value.dtype.kind == "f":
                    setattr(module, name, value.astype(target))
        return self

    def train(self, mode: bool = True) -> Module:
        """Set training mode (affects e.g. `Dropout`) on this module and all sub-modules.

        >>> import chainrule.nn as nn
        >>> net = nn.mlp([2, 4, 1], dropout=0.5, rng=0)
        >>> net.eval().training, net[2].training
        (False, False)
        >>> net.train().training, net[2].training
        (True, True)
        """
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``.

        >>> import chainrule.nn as nn
        >>> drop = nn.Dropout(0.5, rng=0)
        >>> x = chainrule.tensor(np.ones(6))
        >>> drop(x).data
        array([2., 0., 0., 0., 2., 2.])
        >>> drop.eval()(x).data
        array([1., 1., 1., 1., 1., 1.])
        """
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget accumulated gradients (``p.grad = None`` for every parameter).

        >>> import chainrule.nn as nn
        >>> net = nn.Linear(2, 1, rng=0)
        >>> net(chainrule.tensor(np.ones((4, 2)))).sum().backward()
        >>> net.bias.grad
        array([4.], dtype=float32)
        >>> net.zero_grad(); net.bias.grad is None
        True
        """
        for p in self.parameters():
            p.grad = None

    # ---- description ----------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text in this module's line of ``repr(model)`` between the parentheses (subclasses override it).

        >>> import chainrule.nn as nn
        >>> nn.Linear(3, 2, rng=0).extra_repr(), nn.Dropout(0.25).extra_repr()
        ('3 -> 2, init=xavier', 'p=0.25')
        """
        return ""

    def spec(self) -> dict[str, Any]:
        """The architecture as a JSON-able dict, for `build_model` (checkpoints store it).

        >>> import chainrule.nn as nn
        >>> net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU())
        >>> net.spec()
        {'type': 'sequential', 'layers': [{'type': 'linear', 'in': 2, 'out': 3, 'bias': True, 'init': 'xavier'},
         {'type': 'relu'}]}
        >>> nn.build_model(net.spec(), rng=0).num_parameters() == net.num_parameters()
        True
        """
        raise NotImplementedError(f"{type(self).__name__} has no architecture description (spec)")

    def _repr_html_(self) -> str:  # Jupyter's rich display (rendering lives in chainrule/viz/_rich.py)
        from ..viz._rich import module_html
        return module_html(self)

    def __repr__(self) -> str:
        lines = []
        for name, module in self.named_modules():
            depth = name.count(".") + 1 if name else 0
            label = f"({name.rsplit('.', 1)[-1]}): " if name else ""
            own = sum(p.size for n, p in module._direct() if isinstance(p, Parameter))
            count = f"  # {own:,} parameters" if own else ""
            lines.append(f"{'  ' * depth}{label}{type(module).__name__}({module.extra_repr()}){count}")
        total = self.num_parameters()
        if len(lines) > 1:
            lines.append(f"total: {total:,} parameters")
        return "\n".join(lines)


@contextlib.contextmanager
def parameters_from(module: Module, params: dict[str, Any]) -> Iterator[Module]:
    """Context manager: inside it, ``module``'s Parameters stand for the values in ``params`` (a dict by dotted
    name, as `Module.named_parameters` gives them), so that everything computed from the module — its
    output, an L2 penalty on its weights — is a function of ``params``: gradients flow to ``params``, not to
    the Parameters. This makes a training step a pure function of its parameters, the form
    `chainrule.compile` and `chainrule.grad` take (`chainrule.train.compiled_step` builds on it).

    >>> import chainrule.nn as nn
    >>> net = nn.Linear(2, 1, rng=0)
    >>> params = {name: np.ones_like(p.data) for name, p in net.named_parameters()}
    >>> grads = chainrule.grad(lambda ps: nn.functional_call(net, ps, np.array([[1.0, 2.0]])).sum())(params)
    >>> grads["weight"].ravel().tolist(), grads["bias"].tolist()
    ([1.0, 2.0], [1.0])
    """
    if not isinstance(params, dict):
        raise TypeError(f"parameters_from: params must be a dict of values by parameter name (as "
                        f"{type(module).__name__}.named_parameters() names them); got {type(params).__name__}")
    named = module.named_parameters()
    unknown = sorted(set(params) - {name for name, _ in named})
    if unknown:
        raise KeyError(f"parameters_from: no parameters named {unknown} in {type(module).__name__} "
                       f"(it has {[name for name, _ in named]})")
    saved = [(p, p.data, p._node, p.requires_grad, p.grad) for _, p in named]
    try:
        for name, p in named:
            if name not in params:
                continue
            value = params[name]
            if isinstance(value, cr.Tensor):
                data = value.data
                # a node of its own, whose parent is `value`: the Parameter is then a handle on `value`
                node = cr.numpy.copy(value)._node if value.requires_grad and cr.is_grad_enabled() else None
            else:
                data, node = np.asarray(value), None
            if data.shape != p.shape:
                raise ValueError(f"parameters_from: '{name}' has shape {data.shape}; the module's parameter "
                                 f"has shape {p.shape}")
            p.data, p._node, p.requires_grad = data, node, node is not None
        yield module
    finally:
        for p, data, node, requires_grad, grad in saved:
            p.data, p._node, p.requires_grad, p.grad = data, node, requires_grad, grad


def functional_call(module: Module, params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """``module(*args, **kwargs)`` computed with the parameter values in ``params`` (see `parameters_from`).

    >>> import chainrule.nn as nn
    >>> net = nn.Linear(2, 1, rng=0)
    >>> params = {"weight": np.array([[1.0], [2.0]]), "bias": np.array([0.5])}
    >>> nn.functional_call(net, params, np.array([[3.0, 4.0]])).data
    array([[11.5]])
    """
    with parameters_from(module, params):
        return module(*args, **kwargs)


def _is_dtype_name(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True
