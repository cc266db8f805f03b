"""Optimisers: update parameters in place from their ``.grad``.

Every optimiser skips parameters whose ``.grad`` is None, and has ``state_dict()`` /
``load_state_dict()``: hyper-parameters as JSON-able values, per-parameter buffers as ndarrays keyed by the
parameter's position, so a checkpoint restores training exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule._namespace import asarray, device_of, namespace, on_host, to_device, zeros_like


def _set(p: cr.Tensor, value: np.ndarray) -> None:
    """Write ``value`` into ``p.data`` in place when possible; otherwise (a read-only array saved by a live
    graph, or another array library's array, which cannot be locked) rebind it, so the graph keeps the
    values it recorded."""
    if not isinstance(p.data, np.ndarray):
        p.data = asarray(value, dtype=p.dtype)
    elif p.data.flags.writeable:
        np.copyto(p.data, value)
        p._version += 1  # a graph that saved this array and has released it since must not use it
    else:
        p.data = value.astype(p.dtype, copy=True)


def _subtract(p: cr.Tensor, update: np.ndarray) -> None:
    """p ← p − update, in place when the array is writable (see `_set`)."""
    if isinstance(p.data, np.ndarray) and p.data.flags.writeable:
        p.data -= update
        p._version += 1
    else:
        _set(p, p.data - update)


class Optimizer:
    """Base class. ``params``: the Tensors to train (e.g. ``model.parameters()``).

    Subclasses implement ``_update(index, p, g)``; per-parameter buffers live in ``self.state[index]``.

    >>> class HalfStep(Optimizer):
    ...     def _update(self, index, p, g):
    ...         p.data -= 0.5 * self.lr * g
    >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = HalfStep([w], lr=0.2)
    >>> w.grad = 2 * w.data; opt.step(); w.data  # the gradient of (w * w).sum()
    array([0.8, 1.6])
    >>> opt.zero_grad(); w.grad is None
    True
    """

    hyper_names: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable[cr.Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimise")
        for i, p in enumerate(self.params):
            if not isinstance(p, cr.Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: parameter {i} is not a Tensor with requires_grad=True")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive; got {lr}")
        self.lr = float(lr)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set ``.grad = None`` on every parameter.

        >>> w = chainrule.tensor([1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1)
        >>> (w * w).sum().backward(); w.grad
        array([2.])
        >>> opt.zero_grad(); w.grad is None
        True
        """
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient.

        >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w * w).sum().backward()  # gradient 2w
        ...     opt.step()
        ...     print(w.data)
        [0.8 1.6]
        [0.64 1.28]
        [0.512 1.024]
        """
        with cr.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g = p.grad.data if isinstance(p.grad, cr.Tensor) else asarray(p.grad)
                self._update(i, p, g)

    def _update(self, index: int, p: cr.Tensor, g: np.ndarray) -> None:
        raise NotImplementedError

    # ---- state ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"type", "hyper": {...}, "scalars": {...}, "buffers": {"<i>.<name>": ndarray}}``.

        >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = np.array([0.5, -1.0]); opt.step()
        >>> state = opt.state_dict()
        >>> state["type"], state["hyper"], state["scalars"], sorted(state["buffers"])
        ('Adam', {'lr': 0.1, 'betas': (0.9, 0.999), 'eps': 1e-08, 'weight_decay': 0.0}, {'0.step': 1}, ['0.m', '0.v'])
        """
        hyper = {name: getattr(self, name) for name in self.hyper_names}
        buffers: dict[str, np.ndarray] = {}
        scalars: dict[str, Any] = {}
        for i, entry in enumerate(self.state):
            for key, value in entry.items():
                if hasattr(value, "shape") and not isinstance(value, np.generic):  # an array, of any device
                    buffers[f"{i}.{key}"] = on_host(value)
                else:
                    scalars[f"{i}.{key}"] = value
        return {"type": type(self).__name__, "hyper": hyper, "scalars": scalars, "buffers": buffers}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (same optimiser type, same parameter shapes).

        >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = np.array([1.0, 1.0]); opt.step()
        >>> resumed = SGD([chainrule.tensor(w.data, requires_grad=True)], lr=0.5)
        >>> resumed.load_state_dict(opt.state_dict())
        >>> resumed.lr, resumed.momentum, resumed.state[0]["velocity"]
        (0.1, 0.9, array([1., 1.]))
        >>> Adam([w]).load_state_dict(opt.state_dict())
        Traceback (most recent call last):
            ...
        ValueError: Adam.load_state_dict: the state is for 'SGD'
        """
        if state.get("type") != type(self).__name__:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state is for {state.get('type')!r}")
        for name, value in state.get("hyper", {}).items():
            if name in self.hyper_names:
                setattr(self, name, value if not isinstance(value, list) else tuple(value))
        entries: list[dict[str, Any]] = [{} for _ in self.params]
        merged = {**state.get("scalars", {}), **state.get("buffers", {})}
        for key, value in merged.items():
            index_text, _, name = key.partition(".")
            index = int(index_text)
            if not 0 <= index < len(self.params):
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for parameter {index}, but "
                                 f"the optimiser has {len(self.params)} parameters")
            if isinstance(value, np.ndarray):
                if value.shape != self.params[index].shape:
                    raise ValueError(f"{type(self).__name__}.load_state_dict: buffer '{key}' has shape "
                                     f"{value.shape}; parameter {index} has shape {self.params[index].shape}")
                value = value.copy()
                if not isinstance(self.params[index].data, np.ndarray):  # onto the parameter's device
                    value = to_device(value, device_of(self.params[index].data))
            entries[index][name] = value
        self.state = entries

    def __repr__(self) -> str:
        hyper = ", ".join(f"{n}={getattr(self, n)}" for n in self.hyper_names)
        return f"{type(self).__name__}({hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent, the notes' update θ ← θ − η g, with optional extras:

    - ``weight_decay`` λ: g ← g + λθ (the gradient of the L2 term λ·½‖θ‖²);
    - ``momentum`` μ: v ← μ v + g (v = g at the first step), then step along v;
    - ``nesterov``: step along g + μ v instead.

    >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> w.grad = np.array([0.5, -1.0])
    >>> SGD([w], lr=0.1).step(); w.data
    array([0.95, 2.1 ])
    """

    hyper_names = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params: Iterable[cr.Tensor], lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1); got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0; got {weight_decay}")
        self.momentum, self.nesterov, self.weight_decay = float(momentum), bool(nesterov), float(weight_decay)

    def _update(self, index: int, p: cr.Tensor, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            state = self.state[index]
            if "velocity" not in state:
                state["velocity"] = namespace(g).array(g, dtype=p.dtype, copy=True)
            else:
                velocity = state["velocity"]
                velocity *= self.momentum
                velocity += g
            g = g + self.momentum * state["velocity"] if self.nesterov else state["velocity"]
        _subtract(p, self.lr * g)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): with t the step count,
    m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η · m̂ / (√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).

    ``weight_decay`` here is the L2 form (added to g); see `AdamW` for the decoupled form.

    >>> w = chainrule.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = np.array([0.5, -4.0]); opt.step(); w.data
    array([ 0.9, -1.9])
    >>> w.grad = np.array([0.5, -4.0]); opt.step(); w.data
    array([ 0.8, -1.8])
    >>> sorted(opt.state[0])
    ['m', 'step', 'v']
    """

    hyper_names = ("lr", "betas", "eps", "weight_decay")
    decoupled = False

    def __init__(self, params: Iterable[cr.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must lie in [0, 1); got {betas}")
        if weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0; got {weight_decay}")
        self.betas, self.eps, self.weight_decay = (float(beta1), float(beta2)), float(eps), float(weight_decay)

    def _update(self, index: int, p: cr.Tensor, g: np.ndarray) -> None:
        beta1, beta2 = self.betas
        state = self.state[index]
        if "m" not in state:
            state["step"] = 0
            state["m"] = zeros_like(p.data)
            state["v"] = zeros_like(p.data)
        if self.weight_decay and self.decoupled:
            _set(p, p.data * (1.0 - self.lr * self.weight_decay))
        elif self.weight_decay:
            g = g + self.weight_decay * p.data
        state["step"] += 1
        t = state["step"]
        m, v = state["m"], state["v"]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * (g * g)
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        update = self.lr * m_hat / (namespace(v_hat).sqrt(v_hat) + self.eps)
        _subtract(p, update)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): θ ← θ(1 − ηλ) before the Adam step.

    >>> w = chainrule.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = np.array([0.0, 0.0]); opt.step(); w.data
    array([ 0.95, -1.9 ])
    """

    decoupled = True

    def __init__(self, params: Iterable[cr.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): s ← αs + (1−α)g², θ ← θ − η · g / (√s + ε); with ``momentum`` μ,
    b ← μb + g/(√s + ε) and θ ← θ − ηb. ``weight_decay`` adds λθ to g. (PyTorch's defaults.)

    >>> w = chainrule.tensor([1.0], requires_grad=True); w.grad = np.array([2.0])
    >>> RMSprop([w], lr=0.1, alpha=0.5).step(); w.data.round(4)
    array([0.8586])
    """

    hyper_names = ("lr", "alpha", "eps", "momentum", "weight_decay")

    def __init__(self, params: Iterable[cr.Tensor], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0.0 <= alpha < 1.0 or not 0.0 <= momentum < 1.0 or weight_decay < 0 or not eps > 0:
            raise ValueError(f"RMSprop: expected alpha and momentum in [0, 1), eps > 0, weight_decay >= 0; got "
                             f"alpha={alpha}, momentum={momentum}, eps={eps}, weight_decay={weight_decay}")
        self.alpha, self.eps, self.momentum, self.weight_decay = float(alpha), float(eps), float(momentum), float(
            weight_decay)

    def _update(self, index: int, p: cr.Tensor, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        state = self.state[index]
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(p.data)
        square = state["square_avg"]
        square *= self.alpha
        square += (1.0 - self.alpha) * (g * g)
        step = g / (np.sqrt(square) + self.eps)
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(p.data)
            buffer = state["momentum_buffer"]
            buffer *= self.momentum
            buffer += step
            step = buffer
        _subtract(p, self.lr * step)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): s ← s + g², θ ← θ − η · g / (√s + ε) — each weight's step shrinks with
    the squared gradients it has seen. ``weight_decay`` adds λθ to g.

    >>> w = chainrule.tensor([1.0], requires_grad=True); w.grad = np.array([2.0])
    >>> Adagrad([w], lr=0.1).step(); w.data
    array([0.9])
    """

    hyper_names = ("lr", "eps", "weight_decay", "initial_accumulator")

    def __init__(self, params: Iterable[cr.Tensor], lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0,
                 initial_accumulator: float = 0.0) -> None:
        super().__init__(params, lr)
        if weight_decay < 0 or initial_accumulator < 0 or not eps > 0:
            raise ValueError(f"Adagrad: expected eps > 0 and weight_decay, initial_accumulator >= 0; got eps={eps}, "
                             f"weight_decay={weight_decay}, initial_accumulator={initial_accumulator}")
        self.eps, self.weight_decay, self.initial_accumulator = float(eps), float(weight_decay), float(
            initial_accumulator)

    def _update(self, index: int, p: cr.Tensor, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        state = self.state[index]
        if "sum" not in state:
            state["sum"] = np.full_like(p.data, self.initial_accumulator)
        state["sum"] += g * g
        _subtract(p, self.lr * g / (np.sqrt(state["sum"]) + self.eps))


def _gradients(params: Iterable[cr.Tensor]) -> list[tuple[cr.Tensor, np.ndarray]]:
    found = []
    for p in params:
        if p.grad is not None:
            g = p.grad.data if isinstance(p.grad, cr.Tensor) else np.asarray(p.grad)
            found.append((p, g))
    return found


def clip_grad_norm(params: Iterable[cr.Tensor], max_norm: float) -> float:
    """Scale every ``.grad`` by min(1, max_norm / ‖g‖), ‖g‖ the norm of all the gradients together (one
    vector); returns ‖g‖ before clipping. Call between ``backward()`` and ``step()``.

    >>> w = chainrule.tensor([0.0, 0.0], requires_grad=True); w.grad = np.array([3.0, 4.0])
    >>> clip_grad_norm([w], 1.0), w.grad
    (5.0, array([0.6, 0.8]))
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive; got {max_norm}")
    found = _gradients(params)
    total = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for _, g in found)))
    if total > max_norm:
        scale = max_norm / (total + 1e-12)
        for p, g in found:
            p.grad = (g * scale).astype(g.dtype, copy=False)
    return total


def clip_grad_value(params: Iterable[cr.Tensor], value: float) -> None:
    """Clip every element of every ``.grad`` to [−value, value].

    >>> w = chainrule.tensor([0.0, 0.0], requires_grad=True); w.grad = np.array([3.0, -0.5])
    >>> clip_grad_value([w], 1.0); w.grad
    array([ 1. , -0.5])
    """
    if not value > 0:
        raise ValueError(f"clip_grad_value: value must be positive; got {value}")
    for p, g in _gradients(params):
        p.grad = np.clip(g, -value, value)
