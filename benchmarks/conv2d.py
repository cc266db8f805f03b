#!/usr/bin/env python3
"""Conv2d forward + backward, chainrule against PyTorch on the CPU: a batch of 64 MNIST-sized images through
two 3×3 convolutions, 1 → 16 → 32 channels (padding 1, ReLU between), the sum of the output as the loss,
and the gradients of the input and both weights and biases.

    python3 benchmarks/conv2d.py                 # 1 thread, medians of 7 runs after a warm-up
    python3 benchmarks/conv2d.py --threads 2 --repeat 11 --dtype float64

The two libraries run interleaved (chainrule, torch, chainrule, torch, ...), so a noisy machine slows both
alike; the ratio chainrule / torch is the number to read. The gradients are compared before timing.

Both libraries allocate from one C heap, and glibc adapts it to what is freed: after a 29 MB block is
freed it keeps blocks up to 29 MB in the process, after 6 MB blocks only up to 6 MB, and whatever it hands
back to the kernel page-faults on its next use. So in one process each library's time depends on the
other's allocations (PyTorch's step here takes 20 ms beside one chainrule and 60 ms beside another). By
default (``--malloc fixed``, Linux with glibc) the script therefore fixes those thresholds first (32 MB
kept, `mallopt`): both run in the steady state of a long training loop, without page faults;
``--malloc default`` leaves glibc as it is.
"""

from __future__ import annotations

import os
import sys


def _early_threads(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
    return 1


def _early_malloc(argv: list[str]) -> str:
    """``fixed`` (glibc's thresholds set before anything allocates), ``default``, or ``unavailable``."""
    if "default" in [b for a, b in zip(argv, argv[1:], strict=False) if a == "--malloc"]:
        return "default"
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
        done = libc.mallopt(m_mmap_threshold, 32 << 20) == 1 and libc.mallopt(m_trim_threshold, 256 << 20) == 1
    except (OSError, AttributeError):
        done = False
    return "fixed" if done else "unavailable"


THREADS = _early_threads(sys.argv[1:])  # fixed before NumPy's BLAS and PyTorch start
MALLOC = _early_malloc(sys.argv[1:])
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = str(THREADS)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402


def chainrule_step(x, w1, b1, w2, b2):
    tensors = [cr.tensor(a, requires_grad=True) for a in (x, w1, b1, w2, b2)]
    xt, w1t, b1t, w2t, b2t = tensors
    hidden = cnp.relu(F.conv2d(xt, w1t, b1t, padding=1))
    cnp.sum(F.conv2d(hidden, w2t, b2t, padding=1)).backward()
    return [t.grad for t in tensors]


def torch_step(torch, x, w1, b1, w2, b2):
    tensors = [a.detach().requires_grad_(True) for a in (x, w1, b1, w2, b2)]
    xt, w1t, b1t, w2t, b2t = tensors
    hidden = torch.relu(torch.nn.functional.conv2d(xt, w1t, b1t, padding=1))
    torch.nn.functional.conv2d(hidden, w2t, b2t, padding=1).sum().backward()
    return [t.grad for t in tensors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--malloc", default="fixed", choices=("fixed", "default"),
                        help="fix glibc's heap thresholds first (the default; see above) or leave them")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(args.dtype) for shape in
              ((args.batch, 1, 28, 28), (16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,))]
    timings = {"chainrule": []}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(THREADS)
        torch_arrays = [torch.from_numpy(a.copy()) for a in arrays]
        timings["torch"] = []
        ours, theirs = chainrule_step(*arrays), torch_step(torch, *torch_arrays)
        tolerance = 1e-3 if args.dtype == "float32" else 1e-9
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b.numpy(), rtol=tolerance, atol=tolerance * np.abs(b.numpy()).max())
    runs = {"chainrule": lambda: chainrule_step(*arrays)}
    if torch is not None:
        runs["torch"] = lambda: torch_step(torch, *torch_arrays)
    for run in runs.values():  # warm-up
        run()
    for _ in range(args.repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    print(f"conv2d forward+backward, batch {args.batch}, 1 -> 16 -> 32 channels, 3x3, 28x28, {args.dtype}; "
          f"{THREADS} thread(s); malloc {MALLOC}; Python {platform.python_version()}, NumPy {np.__version__}"
          + (f", torch {torch.__version__}" if torch is not None else " (torch not installed)"))
    ours = statistics.median(timings["chainrule"])
    print(f"  chainrule  {1e3 * ours:8.2f} ms  (median of {args.repeat})")
    if torch is not None:
        theirs = statistics.median(timings["torch"])
        print(f"  torch      {1e3 * theirs:8.2f} ms")
        print(f"  ratio chainrule / torch: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
