"""Learning-rate schedules: the lr as a function of the epoch, set on the optimiser by ``step()``.

Call ``scheduler.step()`` once at the end of each epoch. A schedule's whole state is its epoch counter,
so resuming needs only `state_dict` / `load_state_dict`.
"""

from __future__ import annotations

import math
from typing import Any

from ._optimizers import Optimizer


class Schedule:
    """Base class: ``lr_at(epoch)`` gives the learning rate for a (0-based) epoch.

    >>> class Halving(Schedule):
    ...     def lr_at(self, epoch):
    ...         return self.base_lr / 2 ** epoch
    >>> from chainrule.optim import SGD
    >>> opt = SGD([chainrule.tensor([0.0], requires_grad=True)], lr=0.8)
    >>> sched = Halving(opt)
    >>> [sched.step() for _ in range(3)], opt.lr
    ([0.4, 0.2, 0.1], 0.1)
    >>> sched.state_dict()
    {'type': 'Halving', 'epoch': 3, 'base_lr': 0.8}
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        """The learning rate for (0-based) ``epoch``; each schedule defines it from ``base_lr``.

        >>> from chainrule.optim import SGD
        >>> sched = StepLR(SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0), step_size=3, gamma=0.5)
        >>> [sched.lr_at(e) for e in range(7)]
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
        """
        raise NotImplementedError

    def step(self) -> float:
        """Advance one epoch and set the optimiser's lr; returns the new lr.

        >>> from chainrule.optim import SGD
        >>> opt = SGD([chainrule.tensor([0.0], requires_grad=True)], lr=0.1)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(), sched.step(), opt.lr, sched.epoch
        (0.05, 0.025, 0.025, 2)
        """
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        """``{"type", "epoch", "base_lr"}``: all a schedule needs to resume (`load_state_dict`).

        >>> from chainrule.optim import SGD
        >>> sched = CosineLR(SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0), total_epochs=10)
        >>> _ = sched.step(); _ = sched.step()
        >>> sched.state_dict()
        {'type': 'CosineLR', 'epoch': 2, 'base_lr': 1.0}
        """
        return {"type": type(self).__name__, "epoch": self.epoch, "base_lr": self.base_lr}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned and set the optimiser's lr for that epoch.

        >>> from chainrule.optim import SGD
        >>> opt = SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.1)
        >>> sched.load_state_dict({"type": "StepLR", "epoch": 4, "base_lr": 1.0})
        >>> sched.epoch, round(opt.lr, 6), round(sched.step(), 6)
        (4, 0.01, 0.01)
        """
        self.epoch, self.base_lr = int(state["epoch"]), float(state["base_lr"])
        self.optimizer.lr = self.lr_at(self.epoch)


class StepLR(Schedule):
    """lr = base_lr · gamma^⌊epoch / step_size⌋.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> [sched.step() for _ in range(4)]
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1; got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(Schedule):
    """Cosine annealing from base_lr to ``min_lr`` over ``total_epochs``:
    lr = min_lr + ½(base_lr − min_lr)(1 + cos(π · epoch / total_epochs)), constant afterwards.

    >>> from chainrule.optim import SGD
    >>> opt = SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = CosineLR(opt, total_epochs=4, min_lr=0.1)
    >>> [round(sched.step(), 4) for _ in range(5)]
    [0.8682, 0.55, 0.2318, 0.1, 0.1]
    """

    def __init__(self, optimizer: Optimizer, total_epochs: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        if total_epochs < 1:
            raise ValueError(f"CosineLR: total_epochs must be >= 1; got {total_epochs}")
        self.total_epochs, self.min_lr = int(total_epochs), float(min_lr)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.total_epochs) / self.total_epochs
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))


class ExponentialLR(Schedule):
    """lr = base_lr · gamma^epoch.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> sched = ExponentialLR(SGD([cr.tensor([0.0], requires_grad=True)], lr=1.0), gamma=0.5)
    >>> [sched.step() for _ in range(3)]
    [0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"ExponentialLR: gamma must be in (0, 1]; got {gamma}")
        self.gamma = float(gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch


class LinearWarmup(Schedule):
    """lr rises linearly from ``start_factor``·base_lr to base_lr over ``warmup_epochs``, then stays there
    (compose with `SequentialLR` to decay afterwards).

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> sched = LinearWarmup(SGD([cr.tensor([0.0], requires_grad=True)], lr=1.0), warmup_epochs=4)
    >>> sched.optimizer.lr, [sched.step() for _ in range(5)]
    (0.0, [0.25, 0.5, 0.75, 1.0, 1.0])
    """

    def __init__(self, optimizer: Optimizer, warmup_epochs: int, start_factor: float = 0.0) -> None:
        super().__init__(optimizer)
        if warmup_epochs < 1 or not 0.0 <= start_factor <= 1.0:
            raise ValueError(f"LinearWarmup: expected warmup_epochs >= 1 and start_factor in [0, 1]; got "
                             f"{warmup_epochs}, {start_factor}")
        self.warmup_epochs, self.start_factor = int(warmup_epochs), float(start_factor)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.warmup_epochs) / self.warmup_epochs
        return self.base_lr * (self.start_factor + (1.0 - self.start_factor) * progress)


class OneCycleLR(Schedule):
    """The one-cycle policy (Smith & Topin, 2019): from max_lr/``div_factor`` up to max_lr (the optimiser's
    lr) over the first ``pct_start`` of ``total_epochs`` along a cosine, then down to
    max_lr/(div_factor·``final_div_factor``).

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> sched = OneCycleLR(SGD([cr.tensor([0.0], requires_grad=True)], lr=1.0), total_epochs=4, pct_start=0.5)
    >>> [round(sched.lr_at(e), 4) for e in range(5)]
    [0.04, 0.52, 1.0, 0.5, 0.0]
    """

    def __init__(self, optimizer: Optimizer, total_epochs: int, pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4) -> None:
        super().__init__(optimizer)
        if total_epochs < 2 or not 0.0 < pct_start < 1.0 or div_factor < 1 or final_div_factor < 1:
            raise ValueError(f"OneCycleLR: expected total_epochs >= 2, pct_start in (0, 1), factors >= 1; got "
                             f"{total_epochs}, {pct_start}, {div_factor}, {final_div_factor}")
        self.total_epochs, self.pct_start = int(total_epochs), float(pct_start)
        self.div_factor, self.final_div_factor = float(div_factor), float(final_div_factor)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        start = self.base_lr / self.div_factor
        end = start / self.final_div_factor
        peak = max(1, round(self.pct_start * self.total_epochs))
        if epoch <= peak:
            low, high, progress = start, self.base_lr, epoch / peak
        else:
            low, high = end, self.base_lr
            progress = 1.0 - min(epoch - peak, self.total_epochs - peak) / (self.total_epochs - peak)
        return low + 0.5 * (high - low) * (1.0 - math.cos(math.pi * progress))


class SequentialLR(Schedule):
    """Composition: ``schedules[0]`` until epoch ``milestones[0]``, then ``schedules[1]`` counted from its
    start, and so on. Each schedule must drive the same optimiser and share its base lr.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = SequentialLR(opt, [LinearWarmup(opt, 2), ExponentialLR(opt, 0.5)], milestones=[2])
    >>> [sched.lr_at(e) for e in range(5)]
    [0.0, 0.5, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedules: list[Schedule], milestones: list[int]) -> None:
        if len(schedules) != len(milestones) + 1 or list(milestones) != sorted(milestones) or \
                any(m < 1 for m in milestones):
            raise ValueError(f"SequentialLR: expected len(milestones) + 1 schedules and increasing milestones >= 1; "
                             f"got {len(schedules)} schedules, milestones {milestones}")
        if any(s.optimizer is not optimizer for s in schedules):
            raise ValueError("SequentialLR: every schedule must drive the given optimiser")
        base = schedules[0].base_lr
        for s in schedules:  # schedules built after another changed the lr saw the changed one
            s.base_lr = base
        super().__init__(optimizer)
        self.base_lr = base
        self.schedules, self.milestones = list(schedules), [int(m) for m in milestones]
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        start = 0
        for schedule, milestone in zip(self.schedules, [*self.milestones, None], strict=True):
            if milestone is None or epoch < milestone:
                return schedule.lr_at(epoch - start)
            start = milestone
        raise AssertionError("unreachable")


class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` when a monitored value (lower is better: a validation loss) has not
    improved by more than ``threshold`` (relative) for ``patience`` epochs; never below ``min_lr``. Call
    ``step(value)`` at the end of each epoch.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> sched = ReduceLROnPlateau(SGD([cr.tensor([0.0], requires_grad=True)], lr=1.0), patience=1)
    >>> [sched.step(v) for v in (1.0, 0.9, 0.95, 0.95, 0.95)]
    [1.0, 1.0, 1.0, 0.1, 0.1]
    """

    needs_metric = True
    monitor = "val_loss"  # what `chainrule.train.fit` passes to step()

    def __init__(self, optimizer: Optimizer, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 min_lr: float = 0.0) -> None:
        if not 0.0 < factor < 1.0 or patience < 0 or threshold < 0 or min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau: expected factor in (0, 1), patience, threshold, min_lr >= 0; got "
                             f"{factor}, {patience}, {threshold}, {min_lr}")
        self.optimizer = optimizer
        self.factor, self.patience, self.threshold, self.min_lr = float(factor), int(patience), float(threshold), float(
            min_lr)
        self.best, self.waited, self.epoch = math.inf, 0, 0

    def step(self, value: float | None = None) -> float:
        """Record this epoch's ``value``; returns the (possibly reduced) lr.

        >>> from chainrule.optim import SGD
        >>> opt = SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = ReduceLROnPlateau(opt, factor=0.5, patience=0)
        >>> [sched.step(v) for v in (1.0, 1.0, 0.5, 0.6)]
        [1.0, 0.5, 0.5, 0.25]
        >>> sched.step(float("nan"))
        Traceback (most recent call last):
            ...
        ValueError: ReduceLROnPlateau.step: needs the epoch's monitored value (a finite number); got nan
        """
        if value is None or not math.isfinite(value):
            raise ValueError(f"ReduceLROnPlateau.step: needs the epoch's monitored value (a finite number); got "
                             f"{value}")
        self.epoch += 1
        if value < self.best * (1.0 - self.threshold):
            self.best, self.waited = float(value), 0
        else:
            self.waited += 1
            if self.waited > self.patience:
                self.optimizer.lr = max(self.optimizer.lr * self.factor, self.min_lr)
                self.waited = 0
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        """The epoch count, the best value so far, the epochs waited and the lr (JSON-able, for checkpoints).

        >>> from chainrule.optim import SGD
        >>> sched = ReduceLROnPlateau(SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0), patience=2)
        >>> _ = sched.step(0.8); _ = sched.step(0.9)
        >>> sched.state_dict()
        {'type': 'ReduceLROnPlateau', 'epoch': 2, 'best': 0.8, 'waited': 1, 'lr': 1.0}
        """
        return {"type": type(self).__name__, "epoch": self.epoch, "best": self.best if math.isfinite(self.best)
                else None, "waited": self.waited, "lr": self.optimizer.lr}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, the optimiser's lr included.

        >>> from chainrule.optim import SGD
        >>> opt = SGD([chainrule.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> sched.load_state_dict({"type": "ReduceLROnPlateau", "epoch": 3, "best": 0.8, "waited": 1, "lr": 0.25})
        >>> opt.lr, sched.step(0.9)
        (0.25, 0.125)
        """
        self.epoch, self.waited = int(state["epoch"]), int(state["waited"])
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.optimizer.lr = float(state["lr"])
