"""Grad mode, anomaly mode and compile's tape are per thread and per asyncio task."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp


def _hammer(n_threads: int, work) -> list:
    errors: list = []
    start = threading.Barrier(n_threads)

    def run(index):
        try:
            start.wait()
            work(index)
        except BaseException as error:  # reported to the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_no_grad_in_a_serving_thread_never_switches_off_recording_in_a_training_thread():
    def work(index):
        for _ in range(300):
            if index % 2:  # serving: inside no_grad, nothing is recorded
                with cr.no_grad():
                    y = cnp.sum(cr.tensor([1.0, 2.0], requires_grad=True) * 3.0)
                    assert not y.requires_grad and not cr.is_grad_enabled()
            else:  # training: recording on, gradients right
                x = cr.tensor([1.0, 2.0], requires_grad=True)
                y = cnp.sum(x * x)
                assert y.requires_grad and cr.is_grad_enabled()
                y.backward()
                np.testing.assert_allclose(x.grad, [2.0, 4.0])

    assert _hammer(4, work) == []
    assert cr.is_grad_enabled()


def test_overlapping_no_grad_blocks_in_two_threads_restore_correctly():
    inside = threading.Event()
    leave_first = threading.Event()
    seen: dict = {}

    def first():
        with cr.no_grad():
            inside.set()
            leave_first.wait(5)
        seen["first_after"] = cr.is_grad_enabled()

    def second():
        inside.wait(5)
        with cr.no_grad():
            leave_first.set()  # the first thread leaves its block while this one is inside its own
            threading.Event().wait(0.05)
            seen["second_inside"] = cr.is_grad_enabled()
        seen["second_after"] = cr.is_grad_enabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"first_after": True, "second_inside": False, "second_after": True}


def test_one_decorator_object_used_from_many_threads():
    @cr.no_grad()
    def predict(x):
        assert not cr.is_grad_enabled()
        return x * 2.0

    def work(index):
        for _ in range(300):
            out = predict(cr.tensor([1.0], requires_grad=True))
            assert not out.requires_grad
            assert cr.is_grad_enabled()

    assert _hammer(4, work) == []


def test_detect_anomaly_is_per_thread():
    def work(index):
        for _ in range(100):
            if index % 2:
                with cr.detect_anomaly():
                    assert cr._graph.mode.debug == 2
            else:
                assert cr._graph.mode.debug == 0
                cnp.log(cr.tensor([-1.0], requires_grad=True))  # NaN, but no anomaly mode here

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert _hammer(4, work) == []


def test_nested_grads_from_several_threads_at_once():
    def work(index):
        for k in range(50):
            x0 = 1.0 + index + k / 100
            got = cr.grad(lambda x: x * cr.grad(lambda y: x * y * y)(2.0))(x0)  # d/dx 4x² = 8x
            assert abs(got - 8 * x0) < 1e-9

    assert _hammer(4, work) == []


def test_asyncio_tasks_have_their_own_grad_mode():
    async def serving(gate: asyncio.Event, done: asyncio.Event):
        with cr.no_grad():
            gate.set()
            await done.wait()
            return cr.is_grad_enabled()

    async def training(gate: asyncio.Event, done: asyncio.Event):
        await gate.wait()  # the serving task is inside no_grad now
        x = cr.tensor([3.0], requires_grad=True)
        y = cnp.sum(x * x)
        done.set()
        return y.requires_grad

    async def main():
        gate, done = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(serving(gate, done), training(gate, done))

    assert asyncio.run(main()) == [False, True]


def test_compile_traces_in_one_thread_while_another_runs_eagerly():
    @cr.compile
    def step(w, x):
        return cr.value_and_grad(lambda w: cnp.sum(cnp.tanh(x @ w) ** 2))(w)

    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    expected = cr.value_and_grad(lambda w: cnp.sum(cnp.tanh(x @ w) ** 2))(w)

    def work(index):
        for _ in range(20):
            if index % 2:
                value, grad = step(w, x)
            else:  # eager, with Tensors: must never land on another thread's tape
                t = cr.tensor(w, requires_grad=True)
                loss = cnp.sum(cnp.tanh(x @ t) ** 2)
                loss.backward()
                value, grad = float(loss.data), t.grad
            np.testing.assert_allclose(value, expected[0], rtol=1e-12)
            np.testing.assert_allclose(grad, expected[1], rtol=1e-12)

    assert _hammer(4, work) == []
