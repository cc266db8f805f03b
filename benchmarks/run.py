#!/usr/bin/env python3
"""Benchmarks of chainrule against its peers: one command runs every case for every installed library.

    python3 benchmarks/run.py                       # everything, all installed peers, 1 thread
    python3 benchmarks/run.py --quick               # fewer repetitions (a smoke run)
    python3 benchmarks/run.py --peers torch,jax --cases chain,mlp --out results.md

Cases: 1 ``chain`` per-op overhead (1,000 elementwise ops on vectors of 16, forward + backward, time per
op); 2 ``mlp`` a training step of a 784-256-256-10 sigmoid MLP (softmax cross-entropy, batch 128, float32,
SGD); 3 ``deep`` (20 x 64, batch 32) and ``wide`` (2 x 2048, batch 512); 4 ``hvp`` a Hessian-vector product
of the MLP loss; 5 ``memory`` (tracemalloc peak of one step, NumPy-backed libraries only) and ``import``
(a fresh interpreter per run). Times are medians over repetitions after a warm-up; ratios are to chainrule's
eager mode. Peers that are not importable are skipped.
"""

from __future__ import annotations

import os
import sys


def _early_threads(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


# The thread count must be fixed before NumPy (and its BLAS), PyTorch or JAX are imported.
THREADS = _early_threads(sys.argv[1:])
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
             "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = str(THREADS)
if THREADS == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import problems  # noqa: E402
from benchmarks.peers import MODULES  # noqa: E402

CASES = ("chain", "mlp", "deep", "wide", "hvp", "memory", "import")
ROW_TITLES = {
    "chain": "1. per-op overhead, µs per op",
    "mlp": "2. MLP training step, ms",
    "deep": "3a. deep 20×64 step (batch 32), ms",
    "wide": "3b. wide 2×2048 step (batch 512), ms",
    "hvp": "4. Hessian-vector product, ms",
    "memory": "5a. peak memory of an MLP step, MiB",
    "import": "5b. import time, ms",
}


@dataclass
class Settings:
    quick: bool
    budget_s: float = field(init=False)  # time per repetition
    repeats: int = field(init=False)

    def __post_init__(self):
        self.budget_s, self.repeats = (0.02, 3) if self.quick else (0.15, 7)


def median_time(fn, settings: Settings) -> float:
    """Median seconds per call: one warm-up call (tracing, jit), then repetitions of a batch of calls.

    As Python's ``timeit`` does, the cyclic garbage collector is paused while timing (for every library
    alike): otherwise its passes over every object of every imported peer land on whichever library
    happens to allocate Python objects."""
    fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, int(settings.budget_s / max(once, 1e-7)))
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(settings.repeats):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - start) / number)
    finally:
        gc.enable()
    return statistics.median(times)


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


def import_time(statement: str, runs: int) -> float:
    """Median seconds of ``statement`` in a fresh interpreter. Bytecode is written and used, as for an
    installed package (pip compiles packages at install time), even where PYTHONDONTWRITEBYTECODE is set;
    a first, untimed run writes it."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    times = []
    subprocess.run([sys.executable, "-c", statement], capture_output=True, env=env, cwd=ROOT)
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "import failed")
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def load_peers(wanted: set[str] | None):
    """(module, variants) for each importable peer; chainrule always runs (the ratios are to it)."""
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


def run_case(case, variants, settings, mlps, notes):
    results = {}
    reference = None
    for variant in variants:
        try:
            if case == "chain":
                plan = problems.chain_plan()
                fn = variant.make_chain(problems.chain_input(), plan)
                value = median_time(fn, settings) / len(plan) * 1e6
                check = fn()
            elif case in ("mlp", "deep", "wide"):
                fn = variant.make_step(mlps[case])
                value = median_time(fn, settings) * 1e3
                check = None
            elif case == "hvp":
                fn = variant.make_hvp(mlps["mlp"])
                value = median_time(fn, settings) * 1e3
                check = fn()
            elif case == "memory":
                if not variant.numpy_backed:
                    raise NotImplementedError
                value = peak_memory(variant.make_step(mlps["mlp"])) / 2**20
                check = None
            else:
                raise ValueError(case)
        except NotImplementedError:
            continue
        except Exception as error:  # a peer failing must not stop the others
            notes.append(f"{variant.name}, {case}: {type(error).__name__}: {str(error)[:200]}")
            continue
        results[variant.name] = value
        if check is not None and variant.peer != "micrograd":
            if reference is None:
                reference = check
            elif not _same(check, reference):
                notes.append(f"{variant.name}, {case}: result differs from chainrule's")
        print(f"  {case:7s} {variant.name:18s} {value:10.3f}", file=sys.stderr, flush=True)
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
    return f"{model}, {os.cpu_count()} logical cores, {THREADS} thread(s) used; Python {platform.python_version()}"


def versions(loaded) -> str:
    parts = []
    for module, _ in loaded:
        top = module.IMPORT.split()[1].split(".")[0]
        version = getattr(sys.modules.get(top), "__version__", None)
        if version is None:
            try:
                version = importlib.metadata.version(top)
            except importlib.metadata.PackageNotFoundError:
                version = "?"
        parts.append(f"{top} {version}")
    return ", ".join(parts)


def _format(value: float, unit_digits: int = 3) -> str:
    return f"{value:.{unit_digits}g}" if value < 100 else f"{value:.0f}"


def table(results: dict, columns: list[str]) -> str:
    lines = ["| case | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for case, row in results.items():
        base = row.get("chainrule")
        cells = []
        for name in columns:
            value = row.get(name)
            if value is None:
                cells.append("—")
            elif base and name != "chainrule":
                cells.append(f"{_format(value)} ({value / base:.2f}×)")
            else:
                cells.append(_format(value))
        lines.append(f"| {ROW_TITLES[case]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TARGETS = [  # (description, case, numerator, denominator, limit)
    ("per-op overhead ≤ 0.6× PyTorch", "chain", "chainrule", "PyTorch", 0.6),
    ("per-op overhead ≤ 0.3× autograd", "chain", "chainrule", "autograd", 0.3),
    ("MLP step ≤ 1.05× NumPy by hand", "mlp", "chainrule", "NumPy by hand", 1.05),
    ("MLP step ≤ 0.9× PyTorch", "mlp", "chainrule", "PyTorch", 0.9),
    ("compiled MLP step ≤ 0.95× NumPy by hand", "mlp", "chainrule.compile", "NumPy by hand", 0.95),
    ("import ≤ 0.1× import torch", "import", "chainrule", "PyTorch", 0.1),
    ("step peak memory ≤ 1.1× NumPy by hand", "memory", "chainrule", "NumPy by hand", 1.1),
]


def targets_table(results: dict) -> str:
    lines = ["| target | measured | met |", "|---|---:|:---:|"]
    for description, case, num, den, limit in TARGETS:
        row = results.get(case, {})
        if row.get(num) is None or row.get(den) is None:
            lines.append(f"| {description} | not run | — |")
            continue
        ratio = row[num] / row[den]
        lines.append(f"| {description} | {ratio:.2f}× | {'yes' if ratio <= limit else 'no'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter repetitions")
    parser.add_argument("--peers", default=None, help="comma-separated: torch,jax,autograd,mygrad,micrograd "
                        "(default: every installed one); chainrule and NumPy always run")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    parser.add_argument("--out", default=None, help="also write the Markdown report to this file")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}")
    wanted = set(args.peers.split(",")) if args.peers else None
    settings = Settings(args.quick)
    warnings.simplefilter("ignore")

    loaded, skipped = load_peers(wanted)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(THREADS)
    variants = [v for _, vs in loaded for v in vs]
    mlps = problems.mlp_problems()
    results: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    for case in cases:
        print(f"case {case}", file=sys.stderr, flush=True)
        if case == "import":
            row = {}
            for module, vs in loaded:
                if module.PEER == "numpy":
                    continue
                try:
                    row[vs[0].name] = import_time(module.IMPORT, 3 if args.quick else 9) * 1e3
                except RuntimeError as error:
                    notes.append(f"import {module.PEER}: {error}")
            results[case] = row
        else:
            results[case] = run_case(case, variants, settings, mlps, notes)

    columns = [v.name for v in variants if any(v.name in row for row in results.values())]
    report = [f"Machine: {machine()}.", f"Libraries: {versions(loaded)}.", "",
              "Median times (ratio to chainrule's eager mode; lower is better).", "",
              table(results, columns), "", targets_table(results)]
    if skipped:
        report += ["", "Skipped (not importable): " + "; ".join(skipped) + "."]
    if notes:
        report += ["", "Notes:"] + [f"- {n}" for n in notes]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
