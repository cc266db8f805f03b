#!/usr/bin/env python3
"""Benchmarks of chainrule against its peers: one command runs every case for every installed library.

    python3 benchmarks/run.py                       # everything, all installed peers, 1 thread
    python3 benchmarks/run.py --quick               # fewer, shorter rounds and a short long chain (smoke run)
    python3 benchmarks/run.py --peers torch,jax --cases chain,mlp --out results.md

Cases: 1 ``chain`` per-op overhead (1,000 elementwise ops on vectors of 16, forward + backward, time per
op) and ``long_chain`` (the same chain 1,000,000 ops long: what the garbage collector costs on a big graph);
2 ``mlp`` a training step of a 784-256-256-10 sigmoid MLP (softmax cross-entropy, batch 128, float32, SGD),
``batch1`` the same at batch 1, ``log_softmax`` and ``logsumexp`` chainrule's step with the loss written
two other ways; 3 ``deep`` (20 x 64, batch 32) and ``wide`` (2 x 2048, batch 512); 4 ``hvp`` a
Hessian-vector product of the MLP loss; 5 ``memory`` (tracemalloc peak of one step, NumPy-backed libraries
only) and ``import`` (a fresh interpreter per run).

chainrule's engine is chosen when it is imported (``CHAINRULE_ENGINE``), so the column ``chainrule, Python
engine`` (case 1) runs in an interpreter of its own started with ``CHAINRULE_ENGINE=python``, sample by sample
on request, in the same interleaved rounds; the report says which engine each chainrule column ran on.

Within a case the libraries run interleaved, round by round (each round in a rotated order), so that the
load swings of a shared machine hit all of them alike; each round times every library with the garbage
collector on (as users run) and off. Times are medians over rounds; ratios are to chainrule's eager mode,
the median of the per-round ratios. Peers that are not importable are skipped.
"""

from __future__ import annotations

import os
import sys


def _early_option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def thread_environment(threads: int, environ: dict) -> dict:
    """The environment variables that hold every library to ``threads`` threads (to be set before NumPy,
    PyTorch or JAX are imported). XLA takes only ``--``-prefixed flags, and exits on unknown ones."""
    env = {var: str(threads) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")}
    if threads == 1:
        env["XLA_FLAGS"] = (environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    env["JAX_PLATFORMS"] = environ.get("JAX_PLATFORMS", "cpu")
    return env


def pin_to_one_cpu(argv: list[str]) -> int | None:
    """With one thread, run the whole process on one CPU, and return it. XLA (JAX) sizes its CPU thread pool
    from the affinity mask and has no flag that limits it (``--xla_cpu_multi_thread_eigen=false`` alone
    still used 1.8 CPUs here); on one CPU every library gets exactly one core's time."""
    if THREADS != 1 or "--no-pin" in argv or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = _early_option(argv, "--cpu")
    cpu = int(chosen) if chosen is not None else allowed[-1]
    os.sched_setaffinity(0, {cpu})
    return cpu


THREADS = int(_early_option(sys.argv[1:], "--threads") or 1) if __name__ == "__main__" else 1
PINNED_CPU = None
if __name__ == "__main__":  # (imported, e.g. by the tests, the process is left as it is)
    # The thread count and the CPU must be fixed before NumPy (and its BLAS), PyTorch or JAX are imported.
    os.environ.update(thread_environment(THREADS, os.environ))
    PINNED_CPU = pin_to_one_cpu(sys.argv[1:])

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import problems  # noqa: E402
from benchmarks.peers import MODULES  # noqa: E402

CASES = ("chain", "long_chain", "mlp", "batch1", "log_softmax", "logsumexp", "deep", "wide", "hvp", "memory",
         "import")
ROW_TITLES = {
    "chain": "1. per-op overhead, µs per op",
    "long_chain": "1b. {ops:,}-op chain, s",
    "mlp": "2. MLP training step, ms",
    "batch1": "2b. MLP step at batch 1, ms",
    "log_softmax": "2c. MLP step, loss −Σ log_softmax · onehot / B, ms",
    "logsumexp": "2d. MLP step, loss by a hand-written logsumexp, ms",
    "deep": "3a. deep 20×64 step (batch 32), ms",
    "wide": "3b. wide 2×2048 step (batch 512), ms",
    "hvp": "4. Hessian-vector product, ms",
    "memory": "5a. peak memory of an MLP step, MiB",
    "import": "5b. import time, ms",
}
# The MLP cases: (problem, loss formulation).
STEP_CASES = {"mlp": ("mlp", "cross_entropy"), "batch1": ("batch1", "cross_entropy"),
              "log_softmax": ("mlp", "log_softmax"), "logsumexp": ("mlp", "logsumexp"),
              "deep": ("deep", "cross_entropy"), "wide": ("wide", "cross_entropy")}
HEAP = [0]  # GC-tracked objects once every library is imported (reported)
REFERENCE = "chainrule"  # the column every ratio is to
GC_OFF = "chainrule, GC off"  # the extra column of the main table
ENGINES: dict[str, dict[str, str]] = {}  # chainrule column -> chainrule.engine_info() where it ran (reported)


@dataclass
class Settings:
    quick: bool
    budget_s: float = field(init=False)  # time per sample (a batch of calls)
    rounds: int = field(init=False)
    long_ops: int = field(init=False)  # length of case 1b's chain
    long_rounds: int = field(init=False)
    import_runs: int = field(init=False)

    def __post_init__(self):
        if self.quick:
            self.budget_s, self.rounds, self.long_ops, self.long_rounds, self.import_runs = 0.02, 3, 20_000, 1, 3
        else:
            self.budget_s, self.rounds = 0.1, 7
            self.long_ops, self.long_rounds, self.import_runs = problems.LONG_CHAIN_OPS, 3, 9


@dataclass
class Series:
    """One library's measurements in one case, one entry per round (GC on, GC off); untimed cases (memory)
    have one value and no GC-off entries."""

    on: list[float] = field(default_factory=list)
    off: list[float] = field(default_factory=list)
    cpu_per_wall: float = 0.0  # the largest CPU time / wall time of a sample (> 1: more than one thread ran)


def paired_ratios(values: list[float], reference: list[float]) -> list[float]:
    """Per-round ratios: round r of one library against round r of the reference (same load)."""
    return [v / r for v, r in zip(values, reference, strict=True) if r > 0]


def rotated(items: list, round_index: int) -> list:
    """``items`` in the order of round ``round_index``: each library goes first in turn."""
    if not items:
        return []
    k = round_index % len(items)
    return items[k:] + items[:k]


def sample(fn: Callable[[], object], number: int, gc_on: bool) -> tuple[float, float]:
    """Seconds per call over ``number`` calls with the cyclic garbage collector on or off, and the process's
    CPU time per wall time in that sample."""
    was_enabled = gc.isenabled()
    if gc_on:
        gc.enable()
    else:
        gc.disable()
    try:
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(number):
            fn()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    finally:
        if was_enabled:
            gc.enable()
    return wall / number, cpu / wall if wall > 0 else 0.0


def peak_memory(fn) -> float:
    """Peak bytes allocated (as tracemalloc sees NumPy's buffers) during one call, after a warm-up."""
    fn()
    fn()
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(peak)


def import_command(statement: str) -> tuple[list[str], dict]:
    """A fresh interpreter timing ``statement``. Bytecode is written and used, as for an installed package
    (pip compiles packages at install time), even where PYTHONDONTWRITEBYTECODE is set."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    return [sys.executable, "-c", code], env


def import_time(statement: str) -> float:
    command, env = import_command(statement)
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "import failed")
    return float(out.stdout.strip().splitlines()[-1])


def load_peers(wanted: set[str] | None):
    """(module, variants) for each importable peer; chainrule always runs (the ratios are to it), and so do
    the NumPy references."""
    loaded, skipped = [], []
    for name in MODULES:
        peer = name.removesuffix("_impl")
        if wanted is not None and peer not in wanted and peer not in ("chainrule", "numpy"):
            continue
        try:
            module = importlib.import_module(f"benchmarks.peers.{name}")
        except ImportError as error:
            skipped.append(f"{peer} ({error})")
            continue
        loaded.append((module, module.variants()))
    return loaded, skipped


def _same(a, b, tol=1e-3) -> bool:
    a = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in (a if isinstance(a, list) else [a])])
    b = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in (b if isinstance(b, list) else [b])])
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol * np.abs(b).max()))


@dataclass
class Timed:
    """A prepared benchmark: the callable, calls per sample, and the scale of one call to the reported unit."""

    fn: Callable[[], object]
    number: int
    scale: float

    def sample(self, gc_on: bool) -> tuple[float, float]:
        return sample(self.fn, self.number, gc_on)

    def close(self) -> None:
        pass


class InInterpreter:
    """A library timed in a fresh interpreter of its own, started with ``variant.environment`` set (for what a
    library fixes when it is imported, such as chainrule's engine): the interpreter prepares the callable as
    :func:`prepare_here` does, then times one sample (:func:`sample`, there) each time it is asked, so that its
    samples take their places in the interleaved rounds. Only the sample's own timing counts, not the pipe.
    ``fits`` is False where the variant does not fit the case (the interpreter has then exited)."""

    def __init__(self, case: str, variant, settings: Settings) -> None:
        self.name = variant.name
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
        env.update(variant.environment)
        code = (f"from benchmarks import run; run.serve({type(variant).__module__!r}, {variant.name!r}, {case!r}, "
                f"{settings.quick!r})")
        self.errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (kept open until close())
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors, text=True, env=env, cwd=ROOT)
        try:
            hello = self._receive()
        except BaseException:
            self.close()
            raise
        self.fits, self.engine, self.scale = hello["fits"], hello["engine"], hello["scale"]
        self.check = None if hello["check"] is None else [np.array(c) for c in hello["check"]]
        wanted = variant.environment.get("CHAINRULE_ENGINE")
        if self.engine is not None and wanted is not None and self.engine["engine"] != wanted:
            self.close()
            raise RuntimeError(f"asked for chainrule's {wanted} engine, the interpreter ran the "
                               f"{self.engine['engine']} engine ({self.engine['reason']})")
        if not self.fits:
            self.close()

    def _receive(self):
        line = self.process.stdout.readline()
        if not line:
            status = self.process.wait()
            self.errors.seek(0)
            lines = self.errors.read().strip().splitlines()
            raise RuntimeError(f"its interpreter exited (status {status})" + (f": {lines[-1]}" if lines else ""))
        return json.loads(line)

    def sample(self, gc_on: bool) -> tuple[float, float]:
        self.process.stdin.write("on\n" if gc_on else "off\n")
        self.process.stdin.flush()
        seconds, cpu_per_wall = self._receive()
        return seconds, cpu_per_wall

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.errors.close()


def serve(module: str, variant_name: str, case: str, quick: bool) -> None:
    """The interpreter's side of :class:`InInterpreter`: one JSON line when prepared (whether the variant fits
    the case, chainrule's engine here, the unit's scale, the check), then for each line ``on`` or ``off`` read
    from stdin one sample's ``[seconds per call, CPU per wall]``; it exits at the end of stdin."""
    warnings.simplefilter("ignore")
    replies, sys.stdout = sys.stdout, sys.stderr  # only the replies go to stdout
    variant = next(v for v in importlib.import_module(module).variants() if v.name == variant_name)
    mlps = problems.mlp_problems() if case in STEP_CASES or case == "hvp" else {}
    try:
        timed, check = prepare_here(case, variant, Settings(quick), mlps)
    except NotImplementedError:
        timed, check = None, None
    engine = sys.modules["chainrule"].engine_info() if "chainrule" in sys.modules else None
    checks = None if check is None else [np.asarray(c, dtype=np.float64).tolist()
                                         for c in (check if isinstance(check, list) else [check])]
    print(json.dumps({"fits": timed is not None, "engine": engine, "scale": timed.scale if timed else None,
                      "check": checks}), file=replies, flush=True)
    if timed is None:
        return
    gc.collect()
    gc.freeze()  # as run_case does before the rounds
    for line in sys.stdin:
        print(json.dumps(list(timed.sample(line.strip() == "on"))), file=replies, flush=True)


def prepare(case: str, variant, settings: Settings, mlps: dict) -> tuple[Timed | InInterpreter | None, object]:
    """Build, warm up and calibrate one library's callable for ``case``, here or, for a variant with an
    ``environment``, in an interpreter of its own; (None, None) if it does not fit the case. Also returns what a
    check compares across libraries (or None)."""
    if variant.environment is None:
        return prepare_here(case, variant, settings, mlps)
    remote = InInterpreter(case, variant, settings)
    if not remote.fits:
        return None, None
    if remote.engine is not None:
        ENGINES[variant.name] = {**remote.engine, "where": "timed in an interpreter of its own"}
    return remote, remote.check


def prepare_here(case: str, variant, settings: Settings, mlps: dict) -> tuple[Timed | None, object]:
    """:func:`prepare` in this process (NotImplementedError where the variant does not fit the case)."""
    check = None
    if case == "chain":
        plan = problems.chain_plan()
        fn = variant.make_chain(problems.chain_input(), plan)
        scale = 1e6 / len(plan)
    elif case == "long_chain":
        if not variant.long_chains:
            return None, None
        x0 = problems.chain_input()
        variant.make_chain(x0, problems.chain_plan())()  # warm-up on a short chain: one long call is seconds
        return Timed(variant.make_chain(x0, problems.chain_plan(settings.long_ops)), 1, 1.0), None
    elif case in STEP_CASES:
        problem, loss = STEP_CASES[case]
        if loss not in variant.losses:
            return None, None
        fn = variant.make_step(mlps[problem], loss)
        scale = 1e3
    elif case == "hvp":
        fn = variant.make_hvp(mlps["mlp"])
        scale = 1e3
    else:
        raise ValueError(case)
    check = fn()  # the warm-up (tracing, jit), and the value checked against chainrule's
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    if case not in ("chain", "hvp"):
        check = None
    return Timed(fn, max(1, int(settings.budget_s / max(once, 1e-7))), scale), check


def run_case(case: str, variants: list, settings: Settings, mlps: dict, notes: list[str]) -> dict[str, Series]:
    """Every library's measurements in ``case``, taken in interleaved rounds."""
    if case == "memory":
        results = {}
        for variant in variants:
            if not variant.numpy_backed:
                continue
            try:
                value = peak_memory(variant.make_step(mlps["mlp"])) / 2**20
            except NotImplementedError:
                continue
            except Exception as error:  # a peer failing must not stop the others
                notes.append(f"{variant.name}, {case}: {type(error).__name__}: {str(error)[:200]}")
                continue
            results[variant.name] = Series(on=[value])
        return results

    prepared: dict[str, Timed | InInterpreter] = {}
    try:
        return _prepared_case(case, variants, settings, mlps, notes, prepared)
    finally:
        for timed in prepared.values():
            timed.close()


def _prepared_case(case: str, variants: list, settings: Settings, mlps: dict, notes: list[str],
                   prepared: dict) -> dict[str, Series]:
    reference = None
    for variant in variants:
        try:
            timed, check = prepare(case, variant, settings, mlps)
        except NotImplementedError:
            continue
        except Exception as error:
            notes.append(f"{variant.name}, {case}: {type(error).__name__}: {str(error)[:200]}")
            continue
        if timed is None:
            continue
        prepared[variant.name] = timed
        if check is not None and variant.peer != "micrograd":
            if reference is None:
                reference = check
            elif not _same(check, reference):
                notes.append(f"{variant.name}, {case}: result differs from chainrule's")

    rounds = settings.long_rounds if case == "long_chain" else settings.rounds
    results = {name: Series() for name in prepared}
    failed: set[str] = set()
    # What exists now (every imported library's modules and objects, the prepared state) is moved out of the
    # collector's sight: with it, a full collection triggered by one library's allocations would traverse
    # the objects of all the others (over a million with PyTorch and JAX loaded), which no single-library
    # program has. Collections then see what the timed code creates, as in a process of its own.
    gc.collect()
    gc.freeze()
    try:
        _rounds(case, prepared, results, failed, rounds, notes)
    finally:
        gc.unfreeze()
    for name in failed:
        del results[name]
    return results


def _rounds(case: str, prepared: dict, results: dict, failed: set, rounds: int, notes: list[str]) -> None:
    for r in range(rounds):
        for name in rotated(list(prepared), r):
            if name in failed:
                continue
            timed, series = prepared[name], results[name]
            try:
                for gc_on in ((True, False) if r % 2 == 0 else (False, True)):
                    seconds, cpu_per_wall = timed.sample(gc_on)
                    (series.on if gc_on else series.off).append(seconds * timed.scale)
                    series.cpu_per_wall = max(series.cpu_per_wall, cpu_per_wall)
            except Exception as error:
                notes.append(f"{name}, {case}: {type(error).__name__}: {str(error)[:200]}")
                failed.add(name)
        print(f"  {case} round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {s.on[-1]:.4g}" for n, s in results.items() if n not in failed), file=sys.stderr, flush=True)


def run_imports(loaded, settings: Settings, notes: list[str]) -> dict[str, Series]:
    """Import times, in interleaved rounds of fresh interpreters (after one untimed run that writes bytecode)."""
    statements = {vs[0].name: module.IMPORT for module, vs in loaded if module.PEER != "numpy" and module.IMPORT}
    results = {}
    for name, statement in statements.items():
        command, env = import_command(statement)
        subprocess.run(command, capture_output=True, env=env, cwd=ROOT)
        results[name] = Series()
    failed: set[str] = set()
    for r in range(settings.import_runs):
        for name in rotated(list(statements), r):
            if name in failed:
                continue
            try:
                results[name].on.append(import_time(statements[name]) * 1e3)
            except RuntimeError as error:
                notes.append(f"import {name}: {error}")
                failed.add(name)
    for name in failed:
        del results[name]
    return results


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    pinned = f", pinned to CPU {PINNED_CPU}" if PINNED_CPU is not None else ""
    return (f"{model}, {os.cpu_count()} logical cores, {THREADS} thread(s) used{pinned}; "
            f"Python {platform.python_version()}")


def versions(loaded) -> str:
    parts = []
    for module, _ in loaded:
        if not module.IMPORT:
            continue
        top = module.IMPORT.split()[1].split(".")[0]
        version = getattr(sys.modules.get(top), "__version__", None)
        if version is None:
            try:
                version = importlib.metadata.version(top)
            except importlib.metadata.PackageNotFoundError:
                version = "?"
        parts.append(f"{top} {version}")
    return ", ".join(parts)


def _format(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def row_title(case: str, settings: Settings) -> str:
    return ROW_TITLES[case].format(ops=settings.long_ops)


def _cell(values: list[float], reference: list[float] | None) -> str:
    text = _format(statistics.median(values))
    if reference:
        ratios = paired_ratios(values, reference) if len(values) == len(reference) else \
            [statistics.median(values) / statistics.median(reference)]
        text += f" ({statistics.median(ratios):.2f}×)"
    return text


def main_table(results: dict, columns: list[str], settings: Settings) -> str:
    """Medians with the garbage collector on (ratios to chainrule), and chainrule with it off."""
    header = [REFERENCE, GC_OFF] + [c for c in columns if c != REFERENCE]
    lines = ["| case | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
    for case, row in results.items():
        base = row.get(REFERENCE)
        cells = []
        for name in header:
            if name == GC_OFF:
                cells.append(_cell(base.off, base.on) if base is not None and base.off else "—")
            elif name not in row:
                cells.append("—")
            else:
                cells.append(_cell(row[name].on, None if name == REFERENCE or base is None else base.on))
        lines.append(f"| {row_title(case, settings)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def detail_table(results: dict, columns: list[str], settings: Settings, what: str) -> str:
    """``what``: "off" (medians with GC off, ratios to chainrule GC off), "range" (min–max over rounds with
    GC on, and of the ratios), or "gc" (GC on ÷ GC off per library, median of the per-round ratios)."""
    lines = ["| case | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for case, row in results.items():
        if what != "range" and not any(series.off for series in row.values()):
            continue  # an untimed case (memory, import)
        base = row.get(REFERENCE)
        cells = []
        for name in columns:
            series = row.get(name)
            if series is None or (what != "range" and not series.off):
                cells.append("—")
            elif what == "off":
                cells.append(_cell(series.off, None if name == REFERENCE or base is None else base.off))
            elif what == "gc":
                cells.append(f"{statistics.median(paired_ratios(series.on, series.off)):.2f}×")
            elif len(series.on) == 1:
                cells.append(_format(series.on[0]))
            else:
                text = f"{_format(min(series.on))}–{_format(max(series.on))}"
                if name != REFERENCE and base is not None and len(base.on) == len(series.on) > 1:
                    ratios = paired_ratios(series.on, base.on)
                    text += f" ({min(ratios):.2f}–{max(ratios):.2f}×)"
                cells.append(text)
        lines.append(f"| {row_title(case, settings)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


PYTHON_ENGINE = "chainrule, Python engine"  # chainrule_impl.PythonEngine's column
# (description, case, numerator, denominator, limit); denominator None: the numerator's GC on ÷ GC off.
TARGETS = [
    ("per-op overhead ≤ 0.7× PyTorch (pure-Python engine)", "chain", PYTHON_ENGINE, "PyTorch", 0.7),
    ("per-op overhead ≤ 0.5× PyTorch (C accelerator)", "chain", "chainrule", "PyTorch", 0.5),
    ("per-op overhead ≤ 0.25× autograd (C accelerator)", "chain", "chainrule", "autograd", 0.25),
    ("long chain: GC on ≤ 1.15× GC off", "long_chain", "chainrule", None, 1.15),
    ("MLP step ≤ 1.05× NumPy by hand", "mlp", "chainrule", "NumPy by hand", 1.05),
    ("MLP step at batch 1 ≤ 1.2× NumPy by hand", "batch1", "chainrule", "NumPy by hand", 1.2),
    ("MLP step ≤ 0.9× PyTorch", "mlp", "chainrule", "PyTorch", 0.9),
] + [(f"compiled step{', not donated,' if donated else ''} loss {how} ≤ 0.92× NumPy by hand", case,
      "chainrule.compile" + (", not donated" if donated else ""), "NumPy by hand", 0.92)
     for case, how in (("mlp", "nn.softmax_cross_entropy"), ("log_softmax", "−Σ log_softmax · onehot / B"),
                       ("logsumexp", "by hand-written logsumexp"))
     for donated in (False, True)] + [
    ("import ≤ 0.1× import torch", "import", "chainrule", "PyTorch", 0.1),
    ("step peak memory ≤ 1.1× NumPy by hand", "memory", "chainrule", "NumPy by hand", 1.1),
]


def target_ratio(results: dict, case: str, numerator: str, denominator: str | None) -> float | None:
    row = results.get(case, {})
    num = row.get(numerator)
    if num is None:
        return None
    if denominator is None:
        return statistics.median(paired_ratios(num.on, num.off)) if num.off else None
    den = row.get(denominator)
    if den is None:
        return None
    if len(num.on) == len(den.on):
        return statistics.median(paired_ratios(num.on, den.on))
    return statistics.median(num.on) / statistics.median(den.on)


# The targets that hold for one engine only: not met by a measurement on the other.
TARGET_ENGINES = {TARGETS[0][0]: "python", TARGETS[1][0]: "c", TARGETS[2][0]: "c"}


def targets_table(results: dict, engines: dict[str, dict[str, str]] | None = None) -> str:
    """The targets and whether they are met; ``engines`` (column -> engine_info, default :data:`ENGINES`) turns
    a target of one engine measured on the other into "not run"."""
    engines = ENGINES if engines is None else engines
    lines = ["| target | measured | met |", "|---|---:|:---:|"]
    for description, case, numerator, denominator, limit in TARGETS:
        ratio = target_ratio(results, case, numerator, denominator)
        wanted, ran = TARGET_ENGINES.get(description), engines.get(numerator, {}).get("engine")
        if ratio is not None and wanted is not None and ran != wanted:
            lines.append(f"| {description} | not run (`{numerator}` ran on the {ran or 'unknown'} engine) | — |")
        elif ratio is None:
            lines.append(f"| {description} | not run | — |")
        else:
            lines.append(f"| {description} | {ratio:.2f}× | {'yes' if ratio <= limit else 'no'} |")
    return "\n".join(lines)


def engines_line(columns: list[str], engines: dict[str, dict[str, str]]) -> str:
    """Which engine each chainrule column ran on (``engines``: column -> engine_info, with ``where`` for a column
    timed in an interpreter of its own), columns on one engine together.

    >>> engines_line(["chainrule"], {"chainrule": {"engine": "c", "reason": "built"}})
    "chainrule's engines: `chainrule`, `chainrule, GC off`: c (built)."
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in [REFERENCE, GC_OFF] + [c for c in columns if c != REFERENCE]:
        info = engines.get(REFERENCE if name == GC_OFF else name)
        if info is not None:
            key = (info["engine"], info["reason"], info.get("where", ""))
            groups.setdefault(key, []).append(f"`{name}`")
    if not groups:
        return "chainrule's engine: not recorded."
    return "chainrule's engines: " + "; ".join(
        f"{', '.join(names)}: {engine} ({reason}{'; ' + where if where else ''})"
        for (engine, reason, where), names in groups.items()) + "."


def report(results: dict, columns: list[str], settings: Settings, loaded, skipped, notes) -> str:
    threads = [(s.cpu_per_wall, n, c) for c, row in results.items() for n, s in row.items() if s.cpu_per_wall]
    text = [f"Machine: {machine()}.", f"Libraries: {versions(loaded)}.", engines_line(columns, ENGINES), "",
            f"Medians over interleaved rounds ({settings.rounds} per case, {settings.long_rounds} for the long "
            f"chain), garbage collector on; in brackets the median of the per-round ratios to chainrule's "
            f"eager mode (lower is better). `{GC_OFF}`: chainrule with the collector off. The "
            f"{HEAP[0]:,} GC-tracked objects that exist before a case is timed (imported libraries) are frozen "
            f"(`gc.freeze`), so that collections traverse only what the timed code creates.", "",
            main_table(results, columns, settings), "", targets_table(results), "",
            "Garbage collector off (ratios to chainrule with it off):", "",
            detail_table(results, columns, settings, "off"), "",
            "What the garbage collector costs each library (GC on ÷ GC off, median of per-round ratios):", "",
            detail_table(results, columns, settings, "gc"), "",
            "Ranges over the rounds, GC on (min–max of the times, and of the per-round ratios):", "",
            detail_table(results, columns, settings, "range")]
    if threads:
        worst = max(threads)
        text += ["", f"Threads check: the largest CPU time per wall time of any sample was {worst[0]:.2f} "
                 f"({worst[1]}, {worst[2]})."]
    if skipped:
        text += ["", "Skipped (not importable): " + "; ".join(skipped) + "."]
    if notes:
        text += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(text) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds, a short long chain")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per case (default 7; 3 "
                        "with --quick); the long chain has its own, fewer")
    parser.add_argument("--peers", default=None, help="comma-separated: torch,jax,autograd,mygrad,micrograd,"
                        "minimal (default: every installed one); chainrule and NumPy always run")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    parser.add_argument("--cpu", type=int, default=None, help="with one thread, the CPU to pin the process to "
                        "(default: the last one allowed)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--out", default=None, help="also write the Markdown report to this file")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}")
    wanted = set(args.peers.split(",")) if args.peers else None
    settings = Settings(args.quick)
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be at least 1")
        settings.rounds = args.rounds
    warnings.simplefilter("ignore")

    loaded, skipped = load_peers(wanted)
    gc.collect()
    HEAP[0] = len(gc.get_objects())
    if any(module.PEER == "torch" for module, _ in loaded):
        sys.modules["torch"].set_num_threads(THREADS)
    variants = [v for _, vs in loaded for v in vs]
    if "chainrule" in sys.modules:  # (always loaded: the ratios are to it)
        ENGINES.update({v.name: sys.modules["chainrule"].engine_info() for v in variants
                        if v.peer == "chainrule" and v.environment is None})
    mlps = problems.mlp_problems()
    results: dict[str, dict[str, Series]] = {}
    notes: list[str] = []
    for case in cases:
        print(f"case {case}", file=sys.stderr, flush=True)
        if case == "import":
            results[case] = run_imports(loaded, settings, notes)
        else:
            results[case] = run_case(case, variants, settings, mlps, notes)

    columns = [v.name for v in variants if any(v.name in row for row in results.values())]
    text = report(results, columns, settings, loaded, skipped, notes)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
