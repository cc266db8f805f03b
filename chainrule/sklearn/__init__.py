"""scikit-learn estimators backed by chainrule: `MLPClassifier` and `MLPRegressor`.

They follow scikit-learn's conventions (parameters set in ``__init__`` and nothing else; learned attributes
end in ``_``; ``fit`` returns ``self``) and pass ``sklearn.utils.estimator_checks.check_estimator``, so they
work in pipelines, grid searches and cross-validation. The parameters are named as in
``sklearn.neural_network``: ``hidden_layer_sizes``, ``activation``, ``alpha`` (L2), ``batch_size``,
``learning_rate_init``, ``max_iter`` (epochs), ``tol`` and ``n_iter_no_change``, ``early_stopping`` with
``validation_fraction``, ``random_state``. Needs scikit-learn (``pip install scikit-learn``).

>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.9, clf.predict_proba(X[:2]).shape
(True, (2, 3))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("chainrule.sklearn needs scikit-learn: pip install scikit-learn") from error

try:
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # scikit-learn < 1.6
    def _validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, **kwargs)

import chainrule as cr

from .. import nn, optim


class _BaseMLP(BaseEstimator):
    _loss = ""

    def __init__(self, hidden_layer_sizes: tuple[int, ...] = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 1e-4, batch_size: int | str = "auto",
                 learning_rate_init: float = 1e-3, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | None = None, tol: float = 1e-4, momentum: float = 0.9,
                 early_stopping: bool = False, validation_fraction: float = 0.1, n_iter_no_change: int = 10) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    # ---- checks ---------------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        name = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, int | np.integer) else tuple(sizes)
        if any(int(s) < 1 for s in sizes):
            raise ValueError(f"{name}: hidden_layer_sizes must be positive; got {self.hidden_layer_sizes}")
        if self.activation not in ("relu", "tanh", "sigmoid", "identity"):
            raise ValueError(f"{name}: activation must be 'relu', 'tanh', 'sigmoid' or 'identity'; got "
                             f"{self.activation!r}")
        if self.solver not in ("adam", "sgd"):
            raise ValueError(f"{name}: solver must be 'adam' or 'sgd'; got {self.solver!r}")
        if not self.learning_rate_init > 0 or self.alpha < 0 or int(self.max_iter) < 1:
            raise ValueError(f"{name}: expected learning_rate_init > 0, alpha >= 0 and max_iter >= 1")
        if self.early_stopping and not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"{name}: validation_fraction must be in (0, 1); got {self.validation_fraction}")
        self._sizes = [int(s) for s in sizes]

    def _batch(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if int(self.batch_size) < 1:
            raise ValueError(f"{type(self).__name__}: batch_size must be 'auto' or a positive integer")
        return min(int(self.batch_size), n)

    # ---- training -------------------------------------------------------------------------------------
    def _initialise(self, n_features: int, n_outputs: int) -> None:
        self._check_parameters()
        self._rng = np.random.default_rng(self.random_state)
        self.model_ = nn.mlp([n_features, *self._sizes, n_outputs], self.activation, rng=self._rng,
                             dtype=np.float64)
        params = self.model_.parameters()
        self._optimizer = (optim.Adam(params, lr=self.learning_rate_init) if self.solver == "adam"
                           else optim.SGD(params, lr=self.learning_rate_init, momentum=self.momentum))
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_: list[float] = []
        self.best_loss_ = math.inf
        self.validation_scores_: list[float] | None = [] if self.early_stopping else None
        self.best_validation_score_ = -math.inf if self.early_stopping else None
        self._no_improvement = 0

    def _epoch(self, x: np.ndarray, t: np.ndarray) -> float:
        """One pass over (x, t) in minibatches; returns the mean objective."""
        loss_fn = nn.get_loss(self._loss)
        weights = nn.weights(self.model_)
        n, batch = len(x), self._batch(len(x))
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        total = 0.0
        self.model_.train()
        for start in range(0, n, batch):
            index = order[start:start + batch]
            self._optimizer.zero_grad()
            objective = loss_fn(self.model_(cr.tensor(x[index])), t[index])
            if self.alpha:
                objective = objective + nn.l2_penalty(weights, self.alpha * len(index) / n)
            value = float(objective.item())
            if not math.isfinite(value):
                raise ValueError(f"{type(self).__name__}: the training loss became {value}; lower "
                                 f"learning_rate_init")
            objective.backward()
            self._optimizer.step()
            total += value * len(index)
            self.t_ += 1
        self.n_iter_ += 1
        return total / n

    def _track(self, loss: float, validation: tuple[np.ndarray, np.ndarray] | None) -> bool:
        """Record an epoch; True when training should stop (as scikit-learn's MLP decides)."""
        self.loss_curve_.append(loss)
        if validation is not None:
            score = self._score_raw(*validation)
            self.validation_scores_.append(score)
            improved = score > self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self.model_.state_dict()
        else:
            improved = loss < self.best_loss_ - self.tol
        self.best_loss_ = min(self.best_loss_, loss)
        self._no_improvement = 0 if improved else self._no_improvement + 1
        return self._no_improvement >= self.n_iter_no_change

    def _fit(self, x: np.ndarray, t: np.ndarray, n_outputs: int, stratify: np.ndarray | None) -> _BaseMLP:
        self._initialise(x.shape[1], n_outputs)
        validation = None
        if self.early_stopping:
            from sklearn.model_selection import train_test_split

            x, x_val, t, t_val = train_test_split(x, t, test_size=self.validation_fraction,
                                                  random_state=int(self._rng.integers(2**31)),
                                                  stratify=stratify)
            validation = (x_val, t_val)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(self.max_iter)):
                if self._track(self._epoch(x, t), validation):
                    break
        if self.early_stopping and getattr(self, "_best_state", None) is not None:
            self.model_.load_state_dict(self._best_state)
        return self

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        self.model_.eval()
        with cr.no_grad():
            return self.model_(cr.tensor(x)).data

    def _check_x(self, x: Any, reset: bool) -> np.ndarray:
        return _validate_data(self, x, reset=reset, dtype=np.float64)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier trained with softmax cross-entropy (plus ``alpha``·½‖W‖²) by Adam
    or SGD: ``fit(X, y)`` with any labels (strings too; ``classes_`` keeps them), ``predict``,
    ``predict_proba``, ``score`` (accuracy), ``partial_fit`` (one epoch; pass ``classes`` the first time).

    >>> clf = MLPClassifier((8,), max_iter=50, random_state=0).fit([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"])
    >>> clf.classes_.tolist(), clf.n_iter_ <= 50
    (['a', 'b'], True)
    """

    _loss = "softmax-cross-entropy"

    def _encode(self, y: np.ndarray) -> np.ndarray:
        position = np.searchsorted(self.classes_, y)
        position = np.clip(position, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[position] == y):
            unknown = sorted(set(np.asarray(y)[self.classes_[position] != y].tolist()))[:5]
            raise ValueError(f"MLPClassifier: labels {unknown} are not among classes_ {self.classes_.tolist()}")
        return position.astype(np.int64)

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train from scratch on ``X`` ``(n, features)`` and labels ``y`` ``(n,)``; returns self."""
        x, y = _validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier: y has only one class ({self.classes_[0]!r}); a classifier needs at "
                             f"least two classes")
        return self._fit(x, self._encode(y), len(self.classes_), y if self.early_stopping else None)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over ``(X, y)``, continuing the current training; the first call needs ``classes`` (all
        the labels there will be)."""
        first = not hasattr(self, "model_")
        x, y = _validate_data(self, X, y, dtype=np.float64, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("MLPClassifier.partial_fit: the first call needs classes= (every label there "
                                 "will be)")
            self.classes_ = np.unique(classes)
            if len(self.classes_) < 2:
                raise ValueError("MLPClassifier.partial_fit: classes must hold at least two classes")
            self._initialise(x.shape[1], len(self.classes_))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"MLPClassifier.partial_fit: classes {np.unique(classes).tolist()} differ from the "
                             f"first call's {self.classes_.tolist()}")
        with np.errstate(over="ignore", invalid="ignore"):
            self._track(self._epoch(x, self._encode(y)), None)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``, columns in the order of ``classes_``."""
        check_is_fitted(self)
        logits = self._outputs(self._check_x(X, reset=False))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of `predict_proba`, computed stably."""
        check_is_fitted(self)
        logits = self._outputs(self._check_x(X, reset=False))
        top = logits.max(axis=1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, as a label of ``classes_``."""
        check_is_fitted(self)
        return self.classes_[self._outputs(self._check_x(X, reset=False)).argmax(axis=1)]

    def _score_raw(self, x: np.ndarray, t: np.ndarray) -> float:
        return float(np.mean(self._outputs(x).argmax(axis=1) == t))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor trained with squared error ½‖y − t‖² (plus ``alpha``·½‖W‖²):
    ``fit(X, y)`` with ``y`` ``(n,)`` or ``(n, outputs)``, ``predict``, ``score`` (R²), ``partial_fit``.

    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> reg = MLPRegressor((16,), activation="tanh", learning_rate_init=0.01, max_iter=300, random_state=0)
    >>> reg.fit(X, 2 * X[:, 0] + 1).score(X, 2 * X[:, 0] + 1) > 0.95
    True
    """

    _loss = "squared-error"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may be (n, outputs)
        return tags

    def _more_tags(self) -> dict[str, bool]:  # the same for scikit-learn < 1.6
        return {"multioutput": True}

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(len(y), -1).astype(np.float64)

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train from scratch on ``X`` ``(n, features)`` and numeric targets ``y``; returns self."""
        x, y = _validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        self._single_output = y.ndim == 1
        t = self._targets(y)
        return self._fit(x, t, t.shape[1], None)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing the current training (the first call starts it)."""
        first = not hasattr(self, "model_")
        x, y = _validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True, reset=first)
        t = self._targets(y)
        if first:
            self._single_output = y.ndim == 1
            self._initialise(x.shape[1], t.shape[1])
        elif t.shape[1] != self.model_.sizes[-1]:
            raise ValueError(f"MLPRegressor.partial_fit: y has {t.shape[1]} outputs; the model was started with "
                             f"{self.model_.sizes[-1]}")
        with np.errstate(over="ignore", invalid="ignore"):
            self._track(self._epoch(x, t), None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n,)`` (or ``(n, outputs)`` when fitted on several)."""
        check_is_fitted(self)
        out = self._outputs(self._check_x(X, reset=False))
        return out[:, 0] if self._single_output else out

    def _score_raw(self, x: np.ndarray, t: np.ndarray) -> float:
        residual = ((self._outputs(x) - t) ** 2).sum()
        total = ((t - t.mean(axis=0)) ** 2).sum()
        return float(1.0 - residual / total) if total > 0 else 0.0


__all__ = ["MLPClassifier", "MLPRegressor"]
