"""chainrule.sklearn: scikit-learn's own estimator checks, and the behaviour users of MLPClassifier expect."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from chainrule.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()], ids=["MLPClassifier", "MLPRegressor"])
def test_check_estimator(estimator):
    """Every check scikit-learn runs on its own estimators, with the default parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the checks skipped for want of pandas say so in a warning)
        try:
            results = check_estimator(estimator, on_fail=None)
        except TypeError:  # scikit-learn < 1.6 has no on_fail: it raises at the first failing check
            check_estimator(estimator)
            return
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 45


def test_string_labels_probabilities_and_pipelines():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = make_pipeline(StandardScaler(), MLPClassifier((16,), learning_rate_init=0.01, max_iter=300,
                                                              random_state=0)).fit(X, names)
    assert set(clf.predict(X)) <= set(names) and clf.score(X, names) > 0.95
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert cross_val_score(MLPClassifier((16,), max_iter=200, random_state=0), X, y, cv=3).mean() > 0.85


def test_random_state_makes_fits_reproducible_and_pickles_round_trip():
    X, y = load_iris(return_X_y=True)
    a = MLPClassifier((8,), max_iter=30, random_state=3).fit(X, y)
    b = MLPClassifier((8,), max_iter=30, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


def test_partial_fit_continues_and_needs_classes_first():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPClassifier((32,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="the first call needs classes="):
        clf.partial_fit(X[:100], y[:100])
    scores = []
    for _ in range(5):
        for start in range(0, 1500, 500):
            clf.partial_fit(X[start:start + 500], y[start:start + 500], classes=np.arange(10))
        scores.append(clf.score(X[1500:], y[1500:]))
    assert scores[-1] > scores[0] and scores[-1] > 0.85 and clf.n_iter_ == 15
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(X[:10, :3], y[:10])
    reg = MLPRegressor((8,), random_state=0, learning_rate_init=0.01)
    t = X[:, 20] - 2 * X[:, 43]
    reg.partial_fit(X, t)
    first = reg.score(X, t)
    for _ in range(30):
        reg.partial_fit(X, t)
    assert reg.score(X, t) > max(first, 0.5)


def test_early_stopping_uses_the_validation_fraction():
    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier((32,), early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, max_iter=200,
                        learning_rate_init=0.01, random_state=0).fit(X / 16.0, y)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9


def test_clear_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="activation must be"):
        MLPClassifier(activation="swish").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be positive"):
        MLPRegressor(hidden_layer_sizes=(0,)).fit(X, y)


def test_docstring_examples():
    import doctest

    import chainrule
    import chainrule.sklearn as module

    result = doctest.testmod(module, extraglobs={"chainrule": chainrule, "np": np},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
