#!/usr/bin/env python3
"""Where eager time goes: measurements behind docs/benchmarks.md, "Where eager time goes (measured)".

    python3 benchmarks/where_time_goes.py objects     # GC-tracked objects, memory blocks and bytes per recorded op
    python3 benchmarks/where_time_goes.py profile     # cProfile of case 1: Python functions, calls per op
    python3 benchmarks/where_time_goes.py gc          # the 1,000,000-op chain, GC on against off (--ops N)
    python3 benchmarks/where_time_goes.py callgrind   # instructions per op (valgrind), by library and C function
    python3 benchmarks/where_time_goes.py callgrind-step  # instructions per MLP training step (case 2), by variant

Instruction counts are the repeatable measure on a noisy shared machine: ``valgrind --tool=callgrind`` runs
case 1's chain at two lengths, N and 2N ops, in fresh interpreters, and the difference divided by N times
the calls is the cost of one op (forward and backward), free of the interpreter's start-up and imports.
The same difference per C function (``callgrind_annotate``) says where the instructions go. Nothing here is
a test; it only measures (and checks that the variants it measures compute case 1's gradient).
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks import problems  # noqa: E402
from benchmarks.peers.base import chain_ops, run_chain  # noqa: E402

# ---- the variants of case 1 that are measured --------------------------------------------------------------


def _chainrule(plan, backward=True):
    import chainrule
    import chainrule.numpy as cnp

    ops, x0 = chain_ops(plan, cnp.tanh), problems.chain_input()

    def run():
        x = chainrule.tensor(x0, requires_grad=True)
        y = run_chain(ops, x)
        if not backward:
            return y
        y.sum().backward()
        return x.grad

    return run


def _chainrule_python(plan, backward=True):
    """chainrule on its pure-Python engine (the reference; ``chainrule`` is the C engine when it is built)."""
    if "chainrule" in sys.modules:
        raise SystemExit("where_time_goes: chainrule-python must be measured in a fresh interpreter")
    os.environ["CHAINRULE_ENGINE"] = "python"
    return _chainrule(plan, backward)


def _chainrule_unlocked(plan, backward=True):
    """chainrule with saved arrays left writable: what read-only saved arrays cost (an ablation; the
    guarantee is off, so this is a measurement only)."""
    from chainrule import _graph

    _graph._lock = lambda arrays: ()
    return _chainrule(plan, backward)


def _chainrule_unversioned(plan, backward=True):
    """chainrule without the leaf version records of each node (an ablation: in-place changes of a leaf
    after recording would go undetected)."""
    from chainrule import _graph

    def init(self, primitive, parents, positions, args, kwargs, value, locked=(), versions=None):
        self.primitive, self.parents, self.positions = primitive, parents, positions
        self.args, self.kwargs, self.value = args, kwargs, value
        self.locked, self.site, self.name, self.versions = locked, None, None, None
        self.seq = _graph._next_seq()

    _graph.Node.__init__ = init
    return _chainrule(plan, backward)


def _chainrule_unreleased(plan, backward=True):
    """chainrule without the per-node release after the backward pass (an ablation: the graph is then freed
    only when it is dropped, as it is here at the end of each call)."""
    from chainrule import _graph

    _graph.Node.release = lambda self: None
    return _chainrule(plan, backward)


def _minimal(plan, backward=True):
    from benchmarks.minimal_tape import Value
    from benchmarks.minimal_tape import backward as walk

    ops, x0 = chain_ops(plan, Value.tanh), problems.chain_input()

    def run():
        x = Value(x0)
        y = run_chain(ops, x)
        return walk(y)[id(x)] if backward else y

    return run


class _LeanNode:
    """A node shaped to leave one GC-tracked object per op in the old generations: parents in slots (no
    list), the rule a module-level function (no closure per op), saved values in a tuple of untracked items
    (arrays, floats: the collector untracks such a tuple the first time it sees it), and a creation number
    that orders the backward pass (no topological sort)."""

    __slots__ = ("rule", "parent0", "parent1", "saved", "seq")

    def __init__(self, rule, parent0, parent1, saved, seq):
        self.rule, self.parent0, self.parent1, self.saved, self.seq = rule, parent0, parent1, saved, seq


class _LeanValue:
    __slots__ = ("data", "node")

    def __init__(self, data, node):
        self.data, self.node = data, node


def _lean(plan, backward=True):
    """A simulation of the lean record path for case 1's four ops (a measurement of what GC-lean nodes cost,
    not an engine: no checks, no locking)."""
    x0 = problems.chain_input()
    counter = iter(range(1, 1 << 62))

    def rule_mul(g, saved):
        return g * saved[0], None

    def rule_add(g, saved):
        return g, g

    def rule_tanh(g, saved):
        ans = saved[0]
        return g * (1 - ans * ans), None

    def rule_sub(g, saved):
        return g, None

    def mul(y, x):
        return _LeanValue(y.data * 0.9, _LeanNode(rule_mul, y.node, None, (0.9,), next(counter)))

    def add_x(y, x):
        return _LeanValue(y.data + x.data, _LeanNode(rule_add, y.node, x.node, (), next(counter)))

    def tanh(y, x):
        out = np.tanh(y.data)
        return _LeanValue(out, _LeanNode(rule_tanh, y.node, None, (out,), next(counter)))

    def sub(y, x):
        return _LeanValue(y.data - 0.1, _LeanNode(rule_sub, y.node, None, (), next(counter)))

    table = {"mul": mul, "add_x": add_x, "tanh": tanh, "sub": sub}
    ops = [table[op] for op in plan]

    def run():
        leaf = _LeanNode(None, None, None, (), 0)
        x = _LeanValue(x0, leaf)
        y = x
        for op in ops:
            y = op(y, x)
        if not backward:
            return y
        # reverse creation order is a reverse topological order; signals keyed by creation number
        signals = {y.node.seq: np.ones_like(y.data)}
        pending = [y.node]
        nodes = {}
        while pending:  # the reachable nodes (here: all of them)
            node = pending.pop()
            if node.seq in nodes:
                continue
            nodes[node.seq] = node
            for parent in (node.parent0, node.parent1):
                if parent is not None and parent.seq not in nodes:
                    pending.append(parent)
        for seq in sorted(nodes, reverse=True):
            node, g = nodes[seq], signals.pop(seq, None)
            if g is None or node.rule is None:
                if g is not None:
                    signals[seq] = g
                continue
            for parent, gp in zip((node.parent0, node.parent1), node.rule(g, node.saved)):  # noqa: B905
                if parent is not None:
                    previous = signals.get(parent.seq)
                    signals[parent.seq] = gp if previous is None else previous + gp
        return signals[0]

    return run


def _torch(plan, backward=True):
    import torch

    torch.set_num_threads(1)
    ops, x0 = chain_ops(plan, torch.tanh), problems.chain_input()

    def run():
        x = torch.tensor(x0, requires_grad=True)
        y = run_chain(ops, x)
        if not backward:
            return y
        y.sum().backward()
        return x.grad.numpy()

    return run


def _autograd(plan, backward=True):
    import autograd
    import autograd.numpy as anp

    ops, x0 = chain_ops(plan, anp.tanh), problems.chain_input()
    g = autograd.grad(lambda x: anp.sum(run_chain(ops, x)))
    if not backward:
        raise SystemExit("autograd: no forward-only mode")
    return lambda: g(x0)


def _numpy_floor(plan, backward=True):
    """The NumPy calls alone: case 1's forward ufuncs, and the ones its backward rules make (tanh's rule is
    g * (1 - ans * ans), multiply's g * 0.9, the fan-in sum into x one add), on raw arrays."""
    x0 = problems.chain_input()

    def run():
        y, saved = x0, []
        for op in plan:
            if op == "mul":
                y = y * 0.9
            elif op == "add_x":
                y = y + x0
            elif op == "tanh":
                y = np.tanh(y)
                saved.append(y)
            else:
                y = y - 0.1
        if not backward:
            return y
        g, gx = np.ones_like(y), None
        for op in reversed(plan):
            if op == "mul":
                g = g * 0.9
            elif op == "add_x":
                gx = g if gx is None else gx + g
            elif op == "tanh":
                ans = saved.pop()
                g = g * (1 - ans * ans)
        return g if gx is None else gx + g

    return run


VARIANTS = {"chainrule": _chainrule, "chainrule-python": _chainrule_python, "chainrule-unlocked": _chainrule_unlocked,
            "chainrule-unversioned": _chainrule_unversioned, "chainrule-unreleased": _chainrule_unreleased,
            "minimal": _minimal,
            "torch": _torch, "autograd": _autograd, "numpy": _numpy_floor, "lean": _lean}


# ---- objects per op ------------------------------------------------------------------------------------------


def _tracked_in_node(node) -> collections.Counter:
    """The GC-tracked objects a node owns, by the field that holds them."""
    found = collections.Counter()
    if gc.is_tracked(node):
        found[f"{type(node).__name__}"] += 1
    for name in ("parents", "positions", "args", "kwargs", "value", "locked", "versions", "site", "name"):
        value = getattr(node, name, None)
        if value is None or not gc.is_tracked(value):
            continue
        found[f"{name} ({type(value).__name__})"] += 1
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, tuple) and gc.is_tracked(item):
                    found[f"{name} item ({type(item).__name__})"] += 1
                elif type(item).__name__ == "Shape":
                    found[f"{name} item (Shape)"] += 1
    return found


def objects(n_ops: int) -> None:
    import chainrule
    from chainrule import _graph

    plan = problems.chain_plan(n_ops)
    forward = _chainrule(plan, backward=False)
    forward()  # warm
    gc.collect()
    gc.disable()
    try:
        before = {id(o) for o in gc.get_objects()}
        blocks = sys.getallocatedblocks()
        count = gc.get_count()[0]
        y = forward()
        after_blocks = sys.getallocatedblocks()
        after_count = gc.get_count()[0]
        new = [o for o in gc.get_objects() if id(o) not in before]
        gc.collect()
        survivors = sum(1 for o in gc.get_objects() if id(o) not in before)
    finally:
        gc.enable()
    by_type = collections.Counter(type(o).__name__ for o in new)
    print(f"chainrule, a recorded chain of {n_ops} ops (case 1's cycle: *0.9, +x, tanh, -0.1), kept alive:")
    print(f"  GC-tracked objects per op: {len(new) / n_ops:.2f}  by type: "
          + ", ".join(f"{k} {v / n_ops:.2f}" for k, v in by_type.most_common()))
    print(f"  still tracked after a collection (what reaches the old generations): {survivors / n_ops:.2f}")
    print(f"  net growth of GC generation 0 per op: {(after_count - count) / n_ops:.2f}")
    print(f"  memory blocks per op (sys.getallocatedblocks): {(after_blocks - blocks) / n_ops:.2f}")

    per_primitive: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    seen = 0
    node = y._node
    while isinstance(node, _graph.Node):
        per_primitive[node.primitive.name] += _tracked_in_node(node)
        per_primitive[node.primitive.name]["(nodes)"] += 1
        seen += 1
        node = next((p for p in node.parents if isinstance(p, _graph.Node)), None)
    print("  per recorded op, by primitive and by the node field holding the object:")
    for name, counter in per_primitive.items():
        nodes = counter.pop("(nodes)")
        total = sum(counter.values()) / nodes
        print(f"    {name:9s} {total:.1f}: " + ", ".join(f"{k} {v / nodes:.1f}" for k, v in sorted(counter.items())))
    del y

    # what one op allocates in all (temporaries included), and what the minimal tape keeps
    import tracemalloc

    tracemalloc.start()
    y = forward()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"  bytes kept per op (tracemalloc, 16 float64 per array): {kept / n_ops:.0f}")
    del y
    for name in ("minimal", "lean"):
        forward = VARIANTS[name](plan, backward=False)
        forward()
        gc.collect()
        gc.disable()
        try:
            before = {id(o) for o in gc.get_objects()}
            y = forward()
            new = [o for o in gc.get_objects() if id(o) not in before]
            gc.collect()  # (an explicit collection still runs): tuples of untracked items get untracked
            survivors = sum(1 for o in gc.get_objects() if id(o) not in before)
        finally:
            gc.enable()
        by_type = collections.Counter(type(o).__name__ for o in new)
        print(f"{name}: GC-tracked objects per op {len(new) / n_ops:.2f} ("
              + ", ".join(f"{k} {v / n_ops:.2f}" for k, v in by_type.most_common())
              + f"), {survivors / n_ops:.2f} after a collection")
        del y
    del chainrule


# ---- cProfile ------------------------------------------------------------------------------------------------


def profile(n_ops: int, calls: int) -> None:
    import cProfile
    import pstats

    plan = problems.chain_plan(n_ops)
    run = _chainrule(plan)
    run()
    profiler = cProfile.Profile()
    gc.disable()
    profiler.enable()
    for _ in range(calls):
        run()
    profiler.disable()
    gc.enable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])
    print(f"cProfile of case 1 ({n_ops} ops x {calls} calls, GC off): own time share, calls per op, function")
    for (filename, line, name), (_, ncalls, tottime, _, _) in rows[:22]:
        where = os.path.relpath(filename, ROOT) if filename.startswith(ROOT) else os.path.basename(filename)
        print(f"  {100 * tottime / total:5.1f}%  {ncalls / (n_ops * calls):5.2f}  {name} ({where}:{line})")
    print("  (the profiler's own cost per call inflates small, often-called functions)")


# ---- the long chain with the garbage collector on and off ----------------------------------------------------


def long_chain(n_ops: int, rounds: int, variant: str) -> None:
    plan = problems.chain_plan(n_ops)
    forward = VARIANTS[variant](plan, backward=False)
    full = VARIANTS[variant](plan)
    VARIANTS[variant](problems.chain_plan(1000))()  # warm
    in_gc = {"seconds": 0.0, "start": 0.0, "by_generation": collections.Counter()}

    def callback(phase, info):
        if phase == "start":
            in_gc["start"] = time.perf_counter()
        else:
            in_gc["seconds"] += time.perf_counter() - in_gc["start"]
            in_gc["by_generation"][info["generation"]] += 1

    gc.collect()
    heap = len(gc.get_objects())
    gc.callbacks.append(callback)
    results = collections.defaultdict(list)
    try:
        for r in range(rounds):
            for gc_on in ((True, False) if r % 2 == 0 else (False, True)):
                label = "on" if gc_on else "off"
                gc.collect()
                in_gc["seconds"] = 0.0
                in_gc["by_generation"].clear()
                if not gc_on:
                    gc.disable()
                try:
                    start = time.perf_counter()
                    y = forward()
                    middle = time.perf_counter()
                    del y
                    fwd_gc = in_gc["seconds"]
                    in_gc["by_generation"].clear()
                    full()
                    end = time.perf_counter()
                    record = (middle - start, end - middle, fwd_gc, in_gc["seconds"] - fwd_gc,
                              dict(in_gc["by_generation"]))
                finally:
                    gc.enable()
                results[label].append(record)
    finally:
        gc.callbacks.remove(callback)
    print(f"{variant}: {n_ops:,}-op chain, {rounds} rounds (GC on and off alternated); forward alone, then "
          f"forward + backward; {heap:,} GC-tracked objects in the process before")
    for label in ("on", "off"):
        for fwd, total, fwd_gc, full_gc, gens in results[label]:
            print(f"  GC {label:3s}: forward {fwd:6.2f} s ({fwd_gc:5.2f} s in collections), forward + backward "
                  f"{total:6.2f} s ({full_gc:5.2f} s in collections; collections by generation {gens})")
    ratios_fwd = [a[0] / b[0] for a, b in zip(results["on"], results["off"], strict=True)]
    ratios = [a[1] / b[1] for a, b in zip(results["on"], results["off"], strict=True)]
    print(f"  GC on / off: forward {np.median(ratios_fwd):.2f}x ({min(ratios_fwd):.2f}-{max(ratios_fwd):.2f}), "
          f"forward + backward {np.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")


# ---- callgrind -----------------------------------------------------------------------------------------------

GROUPS = [  # (group, pattern on callgrind's "source file:function [object file]"), first match wins
    ("NumPy (its own code) and libm", r"_multiarray_umath|_umath_linalg|libopenblas|libscipy_openblas|"
                                      r"/libm[.-]|numpy"),
    ("PyTorch (its own code)", r"libtorch|libc10|libgomp|torch/_C"),
    ("allocation and deallocation", r"PyObject_Malloc|PyObject_Free|_PyObject_Malloc|pymalloc|_PyMem|malloc|"
     r"\bfree\b|_int_free|_int_malloc|cfree|memset|dealloc|_Py_Dealloc|PyObject_GC_Del|_PyObject_GC_New|"
     r"_PyObject_GC_Link|PyObject_GC_UnTrack|PyObject_GC_Track|gc_alloc|PyType_GenericAlloc|_PyType_AllocNoTrack|"
     r"list_resize|PyList_New|PyTuple_New|tuple_alloc|new_dict|PyDict_New|free_keys_object|_PyObject_New|"
     r"object_new|_Py_NewReference|_PyTrash|clear_slots"),
    ("cyclic GC (collections)", r"gcmodule|visit_|subtract_refs|move_unreachable|update_refs|_traverse"),
    ("interpreter loop", r"_PyEval_EvalFrameDefault"),
    ("calls, frames, attribute access", r"_PyObject_Call|_PyFunction_Vectorcall|vectorcall|_PyObject_MakeTpCall|"
     r"slot_tp|slot_nb|_PyType_Lookup|PyObject_GetAttr|_PyObject_GenericGetAttr|_PyObject_GenericSetAttr|"
     r"PyObject_SetAttr|PyMember_|member_get|member_set|_PyObject_LookupAttr|binary_op|PyNumber_|"
     r"_PyEvalFramePushAndInit|_PyEval_Vector|initialize_locals|clear_thread_frame|_PyFrame|_PyArg_|getset_get|"
     r"property_descr_get|descr_get|_PyObject_GetMethod|PyObject_RichCompare|PyObject_IsInstance|"
     r"recursive_isinstance|PyType_IsSubtype|object_vacall|call\.c|_PyStack"),
    ("dicts, lists, tuples, sets", r"dict|list|tuple|setobject|_Py_HashBytes|lookdict|insertdict"),
]


def _annotate(path: str) -> collections.Counter:
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True, text=True,
                         check=True).stdout
    costs = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if m and ":" in m.group(2) and not m.group(2).startswith("PROGRAM"):
            costs[m.group(2).strip()] += int(m.group(1).replace(",", ""))
    return costs


def _total(path: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def _short(name: str) -> str:
    """``/path/to/ceval.c:_PyEval_EvalFrameDefault'2 [/path/libpython3.11.so]`` → ``ceval.c:_PyEval_EvalFrameDefault``
    (the object file instead when there is no source file)."""
    m = re.match(r"(.*?):(\S+?)(?:'\d+)?(?: \[(.*)\])?$", name)
    if not m:
        return name
    source, function, obj = m.groups()
    where = os.path.basename(obj) if source == "???" and obj else os.path.basename(source)
    return f"{where}:{function}"


def callgrind(variants: list[str], n_ops: int, calls: int, gc_off: bool, top: int, forward_only: bool,
              keep: str | None) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("where_time_goes: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as temporary:
        folder = keep or temporary
        os.makedirs(folder, exist_ok=True)
        for variant in variants:
            paths = []
            for length in (n_ops, 2 * n_ops):
                suffix = "-gcoff" * gc_off + "-forward" * forward_only
                path = os.path.join(folder, f"{variant}-{length}{suffix}.out")
                if keep and os.path.exists(path):  # measured before: annotate again
                    paths.append(path)
                    continue
                command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={path}", sys.executable,
                           os.path.abspath(__file__), "child", variant, str(length), str(calls)]
                command += ["--gc-off"] * gc_off + ["--forward-only"] * forward_only
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"{variant}: failed: {done.stderr.strip().splitlines()[-1]}")
                    break
                paths.append(path)
            if len(paths) < 2:
                continue
            ops = n_ops * (calls + 1)  # (the warm-up call counts)
            per_op = (_total(paths[1]) - _total(paths[0])) / ops
            small, large = _annotate(paths[0]), _annotate(paths[1])
            diff: collections.Counter = collections.Counter()
            group_of, groups = {}, collections.Counter()
            for k in large:
                cost = (large[k] - small.get(k, 0)) / ops
                diff[_short(k)] += cost
                group_of[_short(k)] = group = next((g for g, pattern in GROUPS if re.search(pattern, k)), "other")
                groups[group] += cost
            print(f"{variant}: {per_op:,.0f} instructions per op ({'forward' if forward_only else 'forward + backward'}"
                  f"{', GC off' if gc_off else ', GC on'}; {n_ops} vs {2 * n_ops} ops, {calls + 1} calls)")
            for group, cost in groups.most_common():
                print(f"    {cost:9,.0f}  {100 * cost / per_op:5.1f}%  {group}")
            print("  top C functions per op:")
            for name, cost in diff.most_common(top):
                print(f"    {cost:9,.0f}  {name}  ({group_of[name]})")


def _instructions(variant: str, n_ops: int, gc_off: bool, folder: str) -> int:
    path = os.path.join(folder, f"{variant}-{n_ops}-once{'-gcoff' * gc_off}.out")
    if not os.path.exists(path):
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={path}", sys.executable,
                   os.path.abspath(__file__), "child", variant, str(n_ops), "0"] + ["--gc-off"] * gc_off
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{variant}: failed: {done.stderr.strip().splitlines()[-1]}")
    return _total(path)


def callgrind_gc(variants: list[str], n_ops: int, keep: str | None) -> None:
    """Instructions of one forward + backward pass through an ``n_ops`` chain with the collector on and off
    (each less a one-op run: the interpreter's start-up and imports)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("where_time_goes: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as temporary:
        folder = keep or temporary
        os.makedirs(folder, exist_ok=True)
        for variant in variants:
            start = _instructions(variant, 1, False, folder)
            on = (_instructions(variant, n_ops, False, folder) - start) / n_ops
            off = (_instructions(variant, n_ops, True, folder) - start) / n_ops
            print(f"{variant}: {n_ops:,}-op chain, one forward + backward: {on:,.0f} instructions per op with the "
                  f"collector on, {off:,.0f} off: {on / off:.2f}x")


def _step(which: str, problem_name: str):
    from benchmarks.peers import chainrule_impl, numpy_impl

    problem = problems.mlp_problems()[problem_name]
    variant = {"chainrule": chainrule_impl.Eager(), "numpy": numpy_impl.HandWritten()}[which]
    return variant.make_step(problem)


def callgrind_step(variants: list[str], problem: str, steps: int) -> None:
    """Instructions of one training step of case 2's MLP (``problem``), eager chainrule against the hand-written
    NumPy step: ``steps`` and ``2 * steps`` steps in fresh interpreters, the difference per step."""
    if shutil.which("valgrind") is None:
        raise SystemExit("where_time_goes: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        counts = {}
        for variant in variants:
            totals = []
            for n in (steps, 2 * steps):
                path = os.path.join(folder, f"{variant}-{n}.out")
                command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={path}", sys.executable,
                           os.path.abspath(__file__), "child-step", variant, problem, str(n)]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{variant}: failed: {done.stderr.strip().splitlines()[-1]}")
                totals.append(_total(path))
            counts[variant] = (totals[1] - totals[0]) / steps
        for variant, count in counts.items():
            ratio = f" ({count / counts['numpy']:.3f}x the hand-written step)" if "numpy" in counts else ""
            print(f"{variant}: {count:,.0f} instructions per {problem} step{ratio}")


def child(variant: str, n_ops: int, calls: int, gc_off: bool, forward_only: bool) -> None:
    run = VARIANTS[variant](problems.chain_plan(n_ops), backward=not forward_only)
    if gc_off:
        gc.disable()
    result = run()
    if not forward_only and variant != "numpy" and n_ops <= 4000:
        expected = _numpy_floor(problems.chain_plan(n_ops))()
        np.testing.assert_allclose(np.asarray(result, dtype=float), expected, rtol=1e-10)
    for _ in range(calls):
        run()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("objects")
    p.add_argument("--ops", type=int, default=4000)
    p = sub.add_parser("profile")
    p.add_argument("--ops", type=int, default=1000)
    p.add_argument("--calls", type=int, default=50)
    p = sub.add_parser("gc")
    p.add_argument("--ops", type=int, default=problems.LONG_CHAIN_OPS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--variant", default="chainrule", choices=sorted(VARIANTS))
    p = sub.add_parser("callgrind")
    p.add_argument("--variants", default="chainrule,chainrule-unlocked,minimal,torch,numpy")
    p.add_argument("--ops", type=int, default=1000)
    p.add_argument("--calls", type=int, default=4)
    p.add_argument("--gc-off", action="store_true")
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--forward-only", action="store_true")
    p.add_argument("--keep", default=None, help="keep callgrind's output files in this folder (and reuse them)")
    p = sub.add_parser("callgrind-gc")
    p.add_argument("--variants", default="chainrule,lean")
    p.add_argument("--ops", type=int, default=100_000)
    p.add_argument("--keep", default=None)
    p = sub.add_parser("callgrind-step")
    p.add_argument("--variants", default="chainrule,numpy")
    p.add_argument("--problem", default="mlp", choices=sorted(problems.mlp_problems()))
    p.add_argument("--steps", type=int, default=3)
    p = sub.add_parser("child-step")  # one measured process of `callgrind-step`
    p.add_argument("variant", choices=("chainrule", "numpy"))
    p.add_argument("problem")
    p.add_argument("steps", type=int)
    p = sub.add_parser("child")  # one measured process (run under valgrind by `callgrind`)
    p.add_argument("variant", choices=sorted(VARIANTS))
    p.add_argument("ops", type=int)
    p.add_argument("calls", type=int)
    p.add_argument("--gc-off", action="store_true")
    p.add_argument("--forward-only", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "objects":
        objects(args.ops)
    elif args.what == "profile":
        profile(args.ops, args.calls)
    elif args.what == "gc":
        long_chain(args.ops, args.rounds, args.variant)
    elif args.what == "callgrind":
        callgrind([v for v in args.variants.split(",") if v], args.ops, args.calls, args.gc_off, args.top,
                  args.forward_only, args.keep)
    elif args.what == "callgrind-gc":
        callgrind_gc([v for v in args.variants.split(",") if v], args.ops, args.keep)
    elif args.what == "callgrind-step":
        callgrind_step([v for v in args.variants.split(",") if v], args.problem, args.steps)
    elif args.what == "child-step":
        step = _step(args.variant, args.problem)
        step()  # warm (the first step allocates what later ones reuse)
        for _ in range(args.steps):
            step()
    else:
        child(args.variant, args.ops, args.calls, args.gc_off, args.forward_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
