"""Layers: `Linear`, `Sequential`, activations as modules, `Dropout`; and `mlp` / `build_model`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

from . import init as _init
from ._module import Module, Parameter


# ---- activations as functions -------------------------------------------------------------------------
def sigmoid(x: cr.Tensor) -> cr.Tensor:
    """σ(x) = 1 / (1 + e^(−x)), elementwise.

    >>> import chainrule.nn as nn
    >>> nn.sigmoid(chainrule.tensor([-2.0, 0.0, 2.0])).data.round(4)
    array([0.1192, 0.5   , 0.8808])
    """
    return cnp.sigmoid(x)


def tanh(x: cr.Tensor) -> cr.Tensor:
    """tanh(x), elementwise.

    >>> import chainrule.nn as nn
    >>> nn.tanh(chainrule.tensor([-1.0, 0.0, 1.0])).data.round(4)
    array([-0.7616,  0.    ,  0.7616])
    """
    return cnp.tanh(x)


def relu(x: cr.Tensor) -> cr.Tensor:
    """max(x, 0), elementwise.

    >>> import chainrule.nn as nn
    >>> x = chainrule.tensor([-1.0, 0.0, 2.0])
    >>> nn.relu(x).data
    array([0., 0., 2.])
    >>> chainrule.grad(lambda v: nn.relu(v).sum())(np.array([-1.0, 3.0]))
    array([0., 1.])
    """
    return cnp.relu(x)


def softmax(x: cr.Tensor, axis: int = -1) -> cr.Tensor:
    """exp(x) / Σ exp(x) along ``axis``.

    >>> import chainrule.nn as nn
    >>> p = nn.softmax(chainrule.tensor([[1.0, 2.0, 3.0]]))
    >>> p.data.round(4), round(float(p.data.sum()), 12)
    (array([[0.09  , 0.2447, 0.6652]]), 1.0)
    """
    return cnp.softmax(x, axis=axis)


def log_softmax(x: cr.Tensor, axis: int = -1) -> cr.Tensor:
    """x − logsumexp(x) along ``axis`` (computed stably).

    >>> import chainrule.nn as nn
    >>> z = chainrule.tensor([[1.0, 2.0, 3.0]])
    >>> nn.log_softmax(z).data.round(4)
    array([[-2.4076, -1.4076, -0.4076]])
    >>> np.allclose(np.exp(nn.log_softmax(z).data), nn.softmax(z).data)
    True
    """
    return cnp.log_softmax(x, axis=axis)


def identity(x: cr.Tensor) -> cr.Tensor:
    """x unchanged.

    >>> import chainrule.nn as nn
    >>> nn.identity(chainrule.tensor([1.0, -2.0])).data
    array([ 1., -2.])
    """
    return x


# ---- activations as modules ---------------------------------------------------------------------------
class _Activation(Module):
    kind = ""

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind}


class Sigmoid(_Activation):
    """Elementwise logistic sigmoid; any shape in, same shape out.

    >>> import chainrule.nn as nn
    >>> act = nn.Sigmoid()
    >>> act(chainrule.tensor(np.zeros((2, 3)))).data
    array([[0.5, 0.5, 0.5],
           [0.5, 0.5, 0.5]])
    >>> act.num_parameters()
    0
    """

    kind = "sigmoid"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return cnp.sigmoid(x)


class Tanh(_Activation):
    """Elementwise tanh; any shape in, same shape out.

    >>> import chainrule.nn as nn
    >>> nn.Tanh()(chainrule.tensor([[0.0, 1.0]])).data.round(4)
    array([[0.    , 0.7616]])
    """

    kind = "tanh"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return cnp.tanh(x)


class ReLU(_Activation):
    """Elementwise max(x, 0); any shape in, same shape out.

    >>> import chainrule.nn as nn
    >>> net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU())
    >>> out = net(chainrule.tensor(np.ones((2, 3))))
    >>> out.shape, bool((out.data >= 0).all())
    ((2, 4), True)
    """

    kind = "relu"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return cnp.relu(x)


class Identity(_Activation):
    """Returns its input.

    >>> import chainrule.nn as nn
    >>> nn.Identity()(chainrule.tensor([1.0, 2.0])).data
    array([1., 2.])
    >>> nn.Identity().spec()
    {'type': 'identity'}
    """

    kind = "identity"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return x


class Softmax(_Activation):
    """Softmax along ``axis`` (default the last: class scores of shape ``(batch, classes)``).

    >>> import chainrule.nn as nn
    >>> probs = nn.Softmax()(chainrule.tensor(np.zeros((2, 4))))
    >>> probs.shape, probs.data[0].tolist()
    ((2, 4), [0.25, 0.25, 0.25, 0.25])
    """

    kind = "softmax"

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return cnp.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "axis": self.axis}


class LogSoftmax(Softmax):
    """log softmax along ``axis``, computed stably.

    >>> import chainrule.nn as nn
    >>> nn.LogSoftmax()(chainrule.tensor([[0.0, 0.0]])).data.round(4)
    array([[-0.6931, -0.6931]])
    """

    kind = "log_softmax"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return cnp.log_softmax(x, axis=self.axis)


ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "identity": Identity,
    "softmax": Softmax, "log_softmax": LogSoftmax,
}


# ---- Linear ---------------------------------------------------------------------------------------------
class Linear(Module):
    """Affine map ``y = x @ W + b``.

    Shapes: input ``(..., in_features)``, output ``(..., out_features)``; ``weight`` is
    ``(in_features, out_features)`` and ``bias`` ``(out_features,)`` (zeros at start).

    ``init`` names the weight initialiser (see `chainrule.nn.init`): ``"xavier"`` (Glorot uniform, for
    sigmoid/tanh and linear outputs, the default) or ``"he"`` (for ReLU), or the activation that follows
    the layer (``init="relu"`` picks He, ``init="tanh"`` Glorot); `mlp` picks it from the activation.
    ``rng`` is a seed or a numpy Generator: the same seed gives the same weights. ``dtype``: float32 by
    default (as in PyTorch); ``np.float64`` for gradient checks.

    >>> layer = Linear(3, 2, rng=0)
    >>> layer(chainrule.tensor(np.ones((5, 3)))).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, init: str = "xavier",
                 rng: int | np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        super().__init__()
        if int(in_features) < 1 or int(out_features) < 1:
            raise ValueError(f"Linear: sizes must be positive integers; got ({in_features}, {out_features})")
        init = _init.DEFAULT_FOR_ACTIVATION.get(init, init)  # an activation name picks its initialiser
        if init not in _init.INITIALISERS:
            raise ValueError(f"Linear: unknown init '{init}'; expected one of {sorted(_init.INITIALISERS)} "
                             f"or an activation name ({', '.join(sorted(_init.DEFAULT_FOR_ACTIVATION))})")
        self.in_features, self.out_features, self.init = int(in_features), int(out_features), init
        make = _init.INITIALISERS[init]
        self.weight = Parameter(make((self.in_features, self.out_features), rng=_init.as_rng(rng), dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        y = x @ self.weight
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, init={self.init}" + (
            "" if self.bias is not None else ", bias=False")

    def spec(self) -> dict[str, Any]:
        return {"type": "linear", "in": self.in_features, "out": self.out_features,
                "bias": self.bias is not None, "init": self.init}


# ---- Dropout --------------------------------------------------------------------------------------------
class Dropout(Module):
    """Inverted dropout: in training mode zero each element with probability ``p`` and scale the rest by
    1/(1−p); in eval mode the identity. ``rng`` (seed or Generator) makes the masks reproducible.

    >>> drop = Dropout(0.5, rng=0).eval()
    >>> drop(chainrule.tensor(np.ones(4))).data
    array([1., 1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, *, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1); got {p}")
        self.p = float(p)
        self.rng = _init.as_rng(rng)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / (1.0 - self.p)
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def spec(self) -> dict[str, Any]:
        return {"type": "dropout", "p": self.p}


# ---- Sequential -----------------------------------------------------------------------------------------
class Sequential(Module):
    """Apply layers in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``. Parameters are named
    ``"<index>.<name>"``, e.g. ``0.weight``.

    >>> net = Sequential(Linear(4, 8, rng=0), Tanh(), Linear(8, 2, rng=1))
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def _direct(self) -> Iterator[tuple[str, Parameter | Module]]:
        yield from ((str(i), layer) for i, layer in enumerate(self.layers))

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def spec(self) -> dict[str, Any]:
        return {"type": "sequential", "layers": [layer.spec() for layer in self.layers]}


# ---- MLPs and model descriptions ------------------------------------------------------------------------
class MLP(Sequential):
    """A multilayer perceptron: ``Linear`` layers with ``activation`` between them (none after the last
    unless ``output_activation``). ``sizes = [in, hidden..., out]``; ``dtype`` float32 by default.

    >>> net = MLP([64, 32, 10], activation="relu", rng=0)
    >>> net(chainrule.tensor(np.zeros((7, 64)))).shape
    (7, 10)
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", output_activation: str | None = None,
                 *, dropout: float = 0.0, rng: int | np.random.Generator | None = None,
                 dtype: Any = np.float32) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"mlp: sizes must list at least an input and an output size, all positive; "
                             f"got {sizes}")
        for name in (activation, output_activation or "identity"):
            if name not in ACTIVATIONS:
                raise ValueError(f"mlp: unknown activation '{name}'; expected one of {sorted(ACTIVATIONS)}")
        generator = _init.as_rng(rng)
        layers: list[Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            last = i == len(sizes) - 2
            act = (output_activation or "identity") if last else activation
            layers.append(Linear(fan_in, fan_out, init=_init.DEFAULT_FOR_ACTIVATION[act], rng=generator, dtype=dtype))
            if not last:
                layers.append(ACTIVATIONS[activation]())
                if dropout:
                    layers.append(Dropout(dropout, rng=generator))
            elif output_activation and output_activation != "identity":
                layers.append(ACTIVATIONS[output_activation]())
        super().__init__(*layers)
        self.sizes, self.activation, self.output_activation, self.dropout = (
            sizes, activation, output_activation, float(dropout))

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation}"

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "mlp", "sizes": list(self.sizes), "activation": self.activation}
        if self.output_activation:
            out["output_activation"] = self.output_activation
        if self.dropout:
            out["dropout"] = self.dropout
        return out


def mlp(sizes: Sequence[int], activation: str = "relu", output_activation: str | None = None, *,
        dropout: float = 0.0, rng: int | np.random.Generator | None = None, dtype: Any = np.float32) -> MLP:
    """Build an `MLP` (see there). ``mlp([64, 64, 10], "relu", rng=0)``.

    >>> import chainrule.nn as nn
    >>> net = nn.mlp([4, 8, 3], activation="tanh", rng=0)
    >>> print(net)
    MLP(sizes=[4, 8, 3], activation=tanh)
      (0): Linear(4 -> 8, init=xavier)  # 40 parameters
      (1): Tanh()
      (2): Linear(8 -> 3, init=xavier)  # 27 parameters
    total: 67 parameters
    >>> net(chainrule.tensor(np.zeros((5, 4), dtype=np.float32))).shape
    (5, 3)
    """
    return MLP(sizes, activation, output_activation, dropout=dropout, rng=rng, dtype=dtype)


#: layer types `build_model` knows, by their spec's "type": each class has ``from_spec(spec, rng, dtype)``
LAYER_TYPES: dict[str, Any] = {}


def register_layer(kind: str, cls: Any) -> Any:
    """Let `build_model` (and so `chainrule.checkpoint.load`) rebuild ``cls`` from a spec
    ``{"type": kind, ...}``: ``cls.from_spec(spec, rng, dtype)`` builds it, ``instance.spec()`` describes it.

    >>> class Scale(Module):
    ...     def __init__(self, n): super().__init__(); self.n = n; self.w = Parameter(np.ones(n))
    ...     def forward(self, x): return x * self.w
    ...     def spec(self): return {"type": "scale", "n": self.n}
    ...     @classmethod
    ...     def from_spec(cls, spec, rng, dtype): return cls(spec["n"])
    >>> _ = register_layer("scale", Scale)
    >>> build_model({"type": "scale", "n": 3}).w.shape
    (3,)
    """
    if not callable(getattr(cls, "from_spec", None)):
        raise TypeError(f"register_layer: {getattr(cls, '__name__', cls)!r} needs a from_spec(spec, rng, dtype) "
                        f"classmethod")
    LAYER_TYPES[kind] = cls
    return cls


def _ints(spec: dict[str, Any], key: str) -> list[int]:
    values = spec[key] if isinstance(spec[key], list) else [spec[key]]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ValueError(f"'{key}' must hold non-negative integers; got {spec[key]!r}")
    return values


def state_size(spec: dict[str, Any]) -> int | None:
    """How many numbers the `state_dict` of the model that ``spec`` describes holds, computed from the
    description alone (nothing is built or allocated); None if a registered layer type cannot tell (it may
    define a ``state_size(spec)`` classmethod). Checkpoint loading compares it with the file's weights.

    >>> state_size({"type": "mlp", "sizes": [64, 128, 10]})
    9610
    """
    total, pending = 0, [spec]
    while pending:
        current = pending.pop()
        if not isinstance(current, dict):
            raise ValueError(f"expected a layer description {{'type': ...}}; got {type(current).__name__}")
        kind = current.get("type")
        if kind == "sequential":
            pending.extend(current.get("layers", []))
        elif kind == "mlp":
            sizes = _ints(current, "sizes")
            total += sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        elif kind == "linear":
            n_in, n_out = _ints(current, "in")[0], _ints(current, "out")[0]
            total += n_in * n_out + (n_out if current.get("bias", True) else 0)
        elif kind == "dropout" or kind in ACTIVATIONS:
            continue
        elif kind in LAYER_TYPES:
            counter = getattr(LAYER_TYPES[kind], "state_size", None)
            if counter is None:
                return None
            total += counter(current)
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    return total


def _build_one(spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> Module:
    kind = spec.get("type")
    if kind == "mlp":
        return MLP(spec["sizes"], spec.get("activation", "relu"), spec.get("output_activation"),
                   dropout=spec.get("dropout", 0.0), rng=rng, dtype=dtype)
    if kind == "linear":
        return Linear(spec["in"], spec["out"], spec.get("bias", True), init=spec.get("init", "xavier"), rng=rng,
                      dtype=dtype)
    if kind == "dropout":
        return Dropout(spec.get("p", 0.5), rng=rng)
    if kind in ACTIVATIONS:
        cls = ACTIVATIONS[kind]
        return cls(spec.get("axis", -1)) if issubclass(cls, Softmax) else cls()
    if kind in LAYER_TYPES:
        return LAYER_TYPES[kind].from_spec(spec, rng, dtype)
    known = sorted({"mlp", "sequential", "linear", "dropout", *ACTIVATIONS, *LAYER_TYPES})
    raise ValueError(f"build_model: unknown layer type {kind!r}; expected one of {known} "
                     f"(register your own with chainrule.nn.register_layer)")


def build_model(spec: dict[str, Any], rng: int | np.random.Generator | None = None, dtype: Any = np.float32
                ) -> Module:
    """Rebuild a model from its architecture description (``model.spec()``), freshly initialised.

    >>> build_model({"type": "mlp", "sizes": [64, 64, 10], "activation": "relu"}, rng=0).num_parameters()
    4810
    """
    if not isinstance(spec, dict):
        raise TypeError(f"build_model: expected a dict like {{'type': 'mlp', ...}}; got {type(spec).__name__}")
    generator = _init.as_rng(rng)
    if spec.get("type") != "sequential":
        return _build_one(spec, generator, dtype)
    # Nested Sequentials are built bottom-up with an explicit stack (no recursion).
    pending: list[tuple[dict[str, Any], list[Module], int]] = [(spec, [], 0)]
    while True:
        current, built, index = pending[-1]
        layers = current.get("layers", [])
        if index < len(layers):
            pending[-1] = (current, built, index + 1)
            child = layers[index]
            if isinstance(child, dict) and child.get("type") == "sequential":
                pending.append((child, [], 0))
            else:
                built.append(_build_one(child, generator, dtype))
            continue
        pending.pop()
        module = Sequential(*built)
        if not pending:
            return module
        pending[-1][1].append(module)
