#!/usr/bin/env python3
"""Data-parallel throughput over MPI: the MNIST-sized MLP (784-256-256-10, relu, softmax cross-entropy, Adam,
float32, synthetic data) trained by 1 and 2 ranks of this machine, eager and compiled.

    python3 benchmarks/distributed.py                   # launches the ranks itself with mpiexec
    python3 benchmarks/distributed.py --global-batch 512 --steps 60

For every configuration it reports examples per second (whole job), the scaling efficiency
(throughput at N ranks / (N × throughput at 1 rank), each rank on one BLAS thread), the time per step
spent in the gradient allreduce, and the bare allreduce of the 269,322 float32 gradients. A row "1 rank,
2 BLAS threads" shows the alternative on the same cores. "Efficiency on idle cores" models two dedicated
cores: each rank's CPU time per step outside the collectives plus the fastest bare allreduce. An overlap
experiment measures whether an allreduce posted before a block of compute (a backward pass's worth of
matrix products) finishes during it (MPI makes no progress without a thread of its own unless it is
polled), i.e. whether overlapping the allreduce with the backward pass could pay here. Needs chainrule[distributed].
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's chainrule, not an installed one
SIZES = [784, 256, 256, 10]


def _launch(ranks: int, threads: int, args: argparse.Namespace, out: str) -> dict:
    from chainrule.distributed.cli import find_mpiexec

    mpiexec = find_mpiexec()
    if mpiexec is None:
        sys.exit("benchmarks/distributed.py: mpiexec not found; pip install 'chainrule[distributed]'")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    command = [mpiexec, "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker", out,
               "--global-batch", str(args.global_batch), "--steps", str(args.steps), "--repeats", str(args.repeats)]
    subprocess.run(command, check=True, env=env)
    with open(out) as handle:
        return json.load(handle)


def _worker(args: argparse.Namespace) -> None:
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist
    import chainrule.nn as nn
    import chainrule.optim as optim
    from chainrule.data import ArrayDataset
    from chainrule.train import compiled_step

    comm = dist.init(timeout=300)
    rng = np.random.default_rng(0)
    n = args.global_batch * 16
    data = ArrayDataset(rng.standard_normal((n, SIZES[0])).astype(np.float32), rng.integers(0, 10, n))
    results: dict = {"ranks": comm.size, "threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
                     "global_batch": args.global_batch}

    def model_and_optimizer():
        model = nn.mlp(SIZES, "relu", rng=0)
        for p in model.parameters():
            p.data = p.data.astype(np.float32)
        sampler = dist.DistributedSampler(data, args.global_batch, seed=0)
        return model, dist.DistributedOptimizer(optim.Adam(model.parameters(), lr=1e-3), comm, sampler), sampler

    for mode in ("eager", "compiled"):
        model, opt, sampler = model_and_optimizer()
        step = compiled_step(model, "cross-entropy", opt) if mode == "compiled" else None

        def one_step(xb, yb, model=model, opt=opt, step=step):
            if step is not None:
                return step(xb, yb)
            opt.zero_grad()
            loss = nn.cross_entropy(model(cr.tensor(xb)), yb)
            loss.backward()
            opt.step()
            return loss

        batches = [batch for batch in sampler][: args.steps]
        for xb, yb in batches[:5]:
            one_step(xb, yb)  # warm-up (and the compile's trace)
        per_step, comm_per_step, compute_cpu = [], [], []  # compute_cpu: CPU time outside collectives
        for _ in range(args.repeats):
            comm.barrier()
            before, cpu_before = comm.seconds_communicating, comm.cpu_seconds_communicating
            started, cpu_started = time.perf_counter(), time.process_time()
            for xb, yb in batches:
                one_step(xb, yb)
            cpu = time.process_time() - cpu_started - (comm.cpu_seconds_communicating - cpu_before)
            comm.barrier()
            elapsed = time.perf_counter() - started
            per_step.append(elapsed / len(batches))
            comm_per_step.append((comm.seconds_communicating - before) / len(batches))
            compute_cpu.append(cpu / len(batches))
        results[mode] = {"seconds_per_step": float(np.median(per_step)),
                         "examples_per_second": args.global_batch / float(np.median(per_step)),
                         "allreduce_seconds_per_step": float(np.median(comm_per_step)),
                         "compute_cpu_seconds_per_step": float(np.median(compute_cpu))}

    # the bare allreduce of one step's gradients (one float32 buffer)
    buffer = np.ones(sum(m * k + k for m, k in zip(SIZES, SIZES[1:], strict=False)), dtype=np.float32)
    times = []
    for _ in range(30):
        comm.barrier()
        started = time.perf_counter()
        comm.allreduce_buffer(buffer)
        times.append(time.perf_counter() - started)
    results["bare_allreduce_seconds"] = float(np.median(times[5:]))
    results["bare_allreduce_min_seconds"] = float(np.min(times[5:]))
    times = []
    for _ in range(30):  # the same with MPI's blocking Allreduce (no timeout): what the polling costs
        comm.barrier()
        started = time.perf_counter()
        comm.comm.Allreduce(comm.MPI.IN_PLACE, buffer, op=comm.MPI.SUM)
        times.append(time.perf_counter() - started)
    results["blocking_allreduce_seconds"] = float(np.median(times[5:]))
    results["blocking_allreduce_min_seconds"] = float(np.min(times[5:]))
    results["gradient_floats"] = int(buffer.size)

    results["overlap"] = _overlap(comm)
    if comm.rank == 0:
        with open(args.worker, "w") as handle:
            json.dump(results, handle)


def _overlap(comm) -> dict:
    """An allreduce posted (non-blocking) before a block of compute and waited for after it, against compute
    then allreduce; the fastest of 15 each. A 32 MB buffer makes the allreduce long enough to see whether it
    progresses during the compute (the overlapped time is then near max(compute, allreduce), not the sum)."""
    import numpy as np

    buffer = np.ones(8_000_000, dtype=np.float32)
    a = np.random.default_rng(0).standard_normal((128, 784)).astype(np.float32)
    w = np.ones((784, 256), dtype=np.float32)
    MPI = comm.MPI

    def compute():
        for _ in range(25):
            a.T @ (a @ w)

    def allreduce():
        comm.comm.Allreduce(MPI.IN_PLACE, buffer)

    def sequential():
        compute()
        allreduce()

    def overlapped():
        request = comm.comm.Iallreduce(MPI.IN_PLACE, buffer)
        compute()
        request.Wait()

    def fastest(f):
        times = []
        for _ in range(15):
            comm.comm.Barrier()
            started = time.perf_counter()
            f()
            times.append(time.perf_counter() - started)
        return min(times)

    return {"compute_seconds": fastest(compute), "allreduce_seconds": fastest(allreduce),
            "sequential_seconds": fastest(sequential), "overlapped_seconds": fastest(overlapped)}


def _table(rows: list[dict], global_batch: int) -> str:
    base = {mode: next(r for r in rows if r["ranks"] == 1 and r["threads"] == 1)[mode]["examples_per_second"]
            for mode in ("eager", "compiled")}
    cpu_base = {mode: next(r for r in rows if r["ranks"] == 1 and r["threads"] == 1)[mode]
                ["compute_cpu_seconds_per_step"] for mode in ("eager", "compiled")}
    lines = [f"MLP {'-'.join(map(str, SIZES))}, float32, Adam, global batch {global_batch}",
             "| ranks × BLAS threads | mode | ms per step | examples/s | scaling efficiency | allreduce ms/step "
             "(share of step) | compute CPU ms/step per rank | efficiency on idle cores (model) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        for mode in ("eager", "compiled"):
            m = r[mode]
            efficiency = m["examples_per_second"] / (r["ranks"] * base[mode])
            share = m["allreduce_seconds_per_step"] / m["seconds_per_step"]
            # what the step would take on idle dedicated cores: compute CPU time plus the uncontended (fastest)
            # bare allreduce
            fastest = min(r["bare_allreduce_min_seconds"], r["blocking_allreduce_min_seconds"])
            ideal = m["compute_cpu_seconds_per_step"] + (fastest if r["ranks"] > 1 else 0)
            model = cpu_base[mode] / (r["ranks"] * ideal) if r["threads"] == 1 else float("nan")
            lines.append(f"| {r['ranks']} × {r['threads']} | {mode} | {1e3 * m['seconds_per_step']:.2f} | "
                         f"{m['examples_per_second']:,.0f} | {100 * efficiency:.0f}% | "
                         f"{1e3 * m['allreduce_seconds_per_step']:.2f} ({100 * share:.0f}%) | "
                         f"{1e3 * m['compute_cpu_seconds_per_step']:.2f} | "
                         + ("—" if model != model else f"{100 * model:.0f}%") + " |")
    for r in rows:
        if r["ranks"] > 1:
            o = r["overlap"]
            lines.append(f"\n{r['ranks']} ranks: bare allreduce of {r['gradient_floats']:,} float32 gradients "
                         f"{1e3 * r['bare_allreduce_seconds']:.2f} ms (fastest "
                         f"{1e3 * r['bare_allreduce_min_seconds']:.2f}) with "
                         f"the timeout's polling, {1e3 * r['blocking_allreduce_seconds']:.2f} ms (fastest "
                         f"{1e3 * r['blocking_allreduce_min_seconds']:.2f}) with MPI's blocking Allreduce; "
                         + _overlap_line(o))
    return "\n".join(lines)


def _overlap_line(o: dict) -> str:
    return (f"overlap experiment (32 MB allreduce): compute {1e3 * o['compute_seconds']:.1f} ms, allreduce "
            f"{1e3 * o['allreduce_seconds']:.1f} ms, compute then allreduce {1e3 * o['sequential_seconds']:.1f} ms, "
            f"allreduce posted before the compute and waited for after it {1e3 * o['overlapped_seconds']:.1f} ms")


def _overlap_only(args: argparse.Namespace) -> None:
    import chainrule.distributed as dist

    comm = dist.init(timeout=300)
    result = _overlap(comm)
    if comm.rank == 0:
        print(f"{comm.size} ranks: " + _overlap_line(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--global-batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3,
                        help="configurations are run in turn this many times; each figure is the median")
    parser.add_argument("--overlap-only", action="store_true",
                        help="run only the overlap experiment (launch it with mpiexec -n 2)")
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.overlap_only:
        _overlap_only(args)
        return
    configurations = ((1, 1), (2, 1), (1, 2))
    runs: dict = {c: [] for c in configurations}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):  # interleaved, so a burst of load elsewhere hits every configuration
            for ranks, threads in configurations:
                runs[(ranks, threads)].append(_launch(ranks, threads, args, os.path.join(folder, "result.json")))
    print(_table([_median(runs[c]) for c in configurations], args.global_batch))


def _median(results: list[dict]) -> dict:
    """Element-wise median of the numbers of several runs of one configuration."""
    import numpy as np

    first = results[0]
    if isinstance(first, dict):
        return {key: _median([r[key] for r in results]) for key in first}
    if isinstance(first, float):
        return float(np.median(results))
    return first


if __name__ == "__main__":
    main()
