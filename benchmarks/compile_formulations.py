"""The compiled MLP step (case 2's problem) for three ways of writing the loss, with and without donated
parameters, against the hand-written NumPy step; and the same at batch size 1.

Run single-threaded: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m benchmarks.compile_formulations``.
Rounds are interleaved (every variant once per round, so that load swings hit all of them); each variant's
time per step is divided by the NumPy step's time of the same round, and the medians of those ratios are
printed with their range. Times are the thread's CPU time (``--wall`` for wall-clock time): on a machine
shared with other work, time spent waiting for a core is no part of a step's cost.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import chainrule
import chainrule.nn as nn
import chainrule.numpy as cnp

from .peers.numpy_impl import HandWritten
from .problems import mlp


def forward(weights, biases, x):
    h = x
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = h @ w + b
        h = cnp.sigmoid(z) if layer < len(weights) - 1 else z
    return h


def loss_library(weights, biases, x, labels, onehot):
    return nn.softmax_cross_entropy(forward(weights, biases, x), labels)


def loss_log_softmax(weights, biases, x, labels, onehot):
    o = forward(weights, biases, x)
    return -(cnp.log_softmax(o, axis=1) * onehot).sum() / x.shape[0]


def loss_logsumexp_by_hand(weights, biases, x, labels, onehot):
    o = forward(weights, biases, x)
    m = o.max(axis=1, keepdims=True)
    lse = m + cnp.log(cnp.exp(o - m).sum(axis=1, keepdims=True))
    return ((lse - o) * onehot).sum() / x.shape[0]


LOSSES = {"nn.softmax_cross_entropy": loss_library, "-(log_softmax(o) * onehot).sum() / B": loss_log_softmax,
          "logsumexp by hand": loss_logsumexp_by_hand}


def make_compiled(problem, loss, donate: bool):
    def sgd_step(weights, biases, x, labels, onehot, lr):
        value, (gw, gb) = chainrule.value_and_grad(loss, argnums=(0, 1))(weights, biases, x, labels, onehot)
        return value, [w - lr * g for w, g in zip(weights, gw, strict=True)], \
            [b - lr * g for b, g in zip(biases, gb, strict=True)]

    compiled = chainrule.compile(sgd_step, donate_argnums=(0, 1) if donate else ())
    state = list(problem.fresh_params())
    x, labels, onehot, lr = problem.x, problem.labels, problem.onehot, problem.lr

    def step():
        value, state[0], state[1] = compiled(state[0], state[1], x, labels, onehot, lr)
        return value

    return step


def time_steps(step, n: int, clock) -> float:
    start = clock()
    for _ in range(n):
        step()
    return (clock() - start) / n


def run(problem, rounds: int, steps: int, clock=time.thread_time) -> None:
    variants = {"NumPy by hand": HandWritten().make_step(problem)}
    for name, loss in LOSSES.items():
        for donate in (True, False):
            variants[f"{name}{', donated' if donate else ''}"] = make_compiled(problem, loss, donate)
    for step in variants.values():  # trace, checked replays, warm-up
        for _ in range(5):
            step()
    ratios = {name: [] for name in variants}
    times = {name: [] for name in variants}
    gc.disable()
    for _ in range(rounds):
        this_round = {name: time_steps(step, steps, clock) for name, step in variants.items()}
        for name, t in this_round.items():
            times[name].append(t)
            ratios[name].append(t / this_round["NumPy by hand"])
    gc.enable()
    print(f"{problem.name}: {rounds} interleaved rounds of {steps} steps; per step: median time, median ratio "
          f"to NumPy by hand [range], and the ratio of the fastest rounds")
    for name in variants:
        r = ratios[name]
        print(f"  {name:44s} {statistics.median(times[name]) * 1e3:7.3f} ms  {statistics.median(r):.3f}x "
              f"[{min(r):.3f}, {max(r):.3f}]  {min(times[name]) / min(times['NumPy by hand']):.3f}x")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, nargs="*", default=[128, 1])
    parser.add_argument("--wall", action="store_true", help="time wall-clock time, not the thread's CPU time")
    args = parser.parse_args(argv)
    for batch in args.batch:
        run(mlp(f"MLP 784-256-256-10, batch {batch}", (784, 256, 256, 10), batch), args.rounds, args.steps,
            time.perf_counter if args.wall else time.thread_time)


if __name__ == "__main__":
    main()
