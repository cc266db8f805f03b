"""Every example runs (small sizes) and learns what it should."""

import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_logistic_least_squares():
    result = _load("logistic_least_squares").main(steps=200, verbose=False)
    assert result["accuracy"] > 0.9 and result["w"] > 0


def test_multiclass_logistic_regression():
    assert _load("multiclass_logistic_regression").main(epochs=5, verbose=False) > 0.9


def test_sigmoid_networks():
    results = _load("sigmoid_networks").main(epochs=25, verbose=False)
    assert results[1] > 0.9


def test_deep_linear_network():
    assert _load("deep_linear_network").main(steps=100, verbose=False) < 0.01


def test_xor():
    outputs = _load("xor").main(steps=1500, verbose=False)
    assert (outputs[:, 0] > 0.5).tolist() == [False, True, True, False]


@pytest.mark.parametrize("name", ["logistic_least_squares", "multiclass_logistic_regression",
                                  "sigmoid_networks", "deep_linear_network", "xor"])
def test_examples_print(name, capsys):
    module = _load(name)
    small = {"logistic_least_squares": {"steps": 20}, "multiclass_logistic_regression": {"epochs": 1},
             "sigmoid_networks": {"epochs": 5}, "deep_linear_network": {"steps": 10}, "xor": {"steps": 10}}
    module.main(**small[name])
    assert capsys.readouterr().out


def test_compiled_training(recwarn):
    results = _load("compiled_training").main(epochs=2, verbose=False)
    assert results["compiled"] == pytest.approx(results["eager"], abs=0.01)  # the same training, replayed
    assert min(results.values()) > 0.9
    assert not [w for w in recwarn if "chainrule.compile" in str(w.message)]  # nothing fell back to eager mode
