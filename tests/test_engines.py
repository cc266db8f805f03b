"""The two engines (chainrule._graph, the Python reference, and the optional C accelerator) in step.

The differential test runs the same seeded random programs in two fresh interpreters, one per engine
(``CHAINRULE_ENGINE``), and compares everything they observe: forward values and gradients bitwise, the
type and message of every error, which saved arrays are writable again after the backward pass, which
nodes died, and the lock books. It skips when the C engine is not built. The other tests here run on
whichever engine this interpreter has (``.ci/run`` runs the suite under both).
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule import _graph

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = 80  # seeded random programs per engine


def _c_engine_built() -> bool:
    try:
        from chainrule import _cengine  # noqa: F401
    except ImportError:
        return False
    return True


needs_c = pytest.mark.skipif(not _c_engine_built(), reason="the C engine (chainrule._cengine) is not built")


# ---- the random programs (run in the child interpreters) --------------------------------------------------


def _bad_shape_rule(g, ans, x):
    return g.sum()  # a rule returning the wrong shape: _conform names it


def _float32_rule(g, ans, x):
    return (2 * g).astype(np.float32)  # cast back to the argument's dtype by _conform


def _scalar_rule(g, ans, x):
    return 3.0  # a number where an array was expected


def _program(seed: int) -> list:
    """Run one random program; return what it observed, as plain picklable values."""
    rng = np.random.default_rng(seed)
    seen: list = []

    def note(kind, *values):
        seen.append((kind, *[_plain(v) for v in values]))

    width = int(rng.choice([3, 4, 12]))  # 12 x 12 = 144 elements: arrays the rules do not read become Shapes
    shape = [(width,), (2, width), (width, width)][int(rng.integers(3))]
    leaves = [chainrule.tensor(rng.uniform(-1, 1, shape), requires_grad=True) for _ in range(2)]
    leaves.append(chainrule.tensor(rng.uniform(-1, 1, shape[-1:]), requires_grad=True))
    weight = chainrule.tensor(rng.uniform(-1, 1, (shape[-1], shape[-1])), requires_grad=True)
    constant = chainrule.tensor(rng.uniform(0.5, 1.5, shape))
    pool = list(leaves) + [constant, rng.uniform(-1, 1, shape)]

    def pick():
        return pool[int(rng.integers(len(pool)))]

    bad = {
        "bad_shape": chainrule.Primitive("bad_shape", lambda x: x * 2, (_bad_shape_rule,), saves=()),
        "float32": chainrule.Primitive("float32", lambda x: x * 2, (_float32_rule,), saves=()),
        "scalar": chainrule.Primitive("scalar", lambda x: x * 2, (_scalar_rule,), saves=()),
        "norule": chainrule.Primitive("norule", lambda x, y: x + y, (lambda g, ans, x, y: g, None), saves=()),
    }
    ops = [
        lambda a, b: cnp.tanh(a), lambda a, b: cnp.exp(cnp.tanh(a)), lambda a, b: cnp.sin(a) * 0.9,
        lambda a, b: cnp.log(1 + a * a), lambda a, b: -a, lambda a, b: a + b, lambda a, b: a - b,
        lambda a, b: a * b, lambda a, b: a / (1 + b * b), lambda a, b: cnp.maximum(a, b),
        lambda a, b: (a * a + 1) ** 1.5, lambda a, b: 2.0 - a, lambda a, b: a.sum(axis=-1, keepdims=True) * b,
        lambda a, b: cnp.mean(a) + b, lambda a, b: a[..., ::-1] + b, lambda a, b: a.reshape(-1).reshape(shape) * b,
        lambda a, b: a @ weight, lambda a, b: cnp.where(a > 0, a, b),
        lambda a, b: cnp.concatenate([a, b], axis=-1)[..., : shape[-1]],
        lambda a, b: cnp.sum(cnp.stack([a, b]), axis=0), lambda a, b: cnp.abs(a) + b,
        lambda a, b: a.T.T * 1.5, lambda a, b: bad["float32"](a) + b, lambda a, b: cnp.sqrt(a * a + 0.5),
        lambda a, b: cnp.linalg.norm(a) * b,
    ]
    result = None
    for step in range(int(rng.integers(4, 16))):
        choice = int(rng.integers(len(ops) + 6))
        a, b = pick(), pick()
        try:
            if choice < len(ops):
                result = ops[choice](a, b)
            elif choice == len(ops):  # an in-place write into a non-leaf
                result = a * 1.0
                result += b
            elif choice == len(ops) + 1:  # a write through an index
                result = a * 1.0
                result[..., 0] = cnp.tanh(b)[..., 0] if isinstance(b, chainrule.Tensor) else 0.5
            elif choice == len(ops) + 2:  # a failing forward: the message names the operation and inputs
                result = cnp.reshape(a, (7, 5))
            elif choice == len(ops) + 3:
                with chainrule.no_grad():
                    result = a * 3.0
            elif choice == len(ops) + 4:  # a graph dropped without a backward pass (its locks given back)
                side = (a * b).sum()
                note("side", side.data)
                del side
                result = a + 0.0
            else:  # primitives whose rules return the wrong shape or a number, or have no rule for b
                which = ("bad_shape", "scalar", "norule", "float32")[step % 4]
                result = bad[which](a, b) if which == "norule" else bad[which](a)
        except Exception as error:  # noqa: BLE001
            note("error", type(error).__name__, str(error))
            continue
        note("value", result.data if isinstance(result, chainrule.Tensor) else result)
        pool.append(result)
    traced = [t for t in pool if isinstance(t, chainrule.Tensor) and t.requires_grad]
    loss = sum(t.sum() for t in traced[-3:])
    note("loss", loss.data)
    nodes = [weakref.ref(t._node) for t in pool if isinstance(t, chainrule.Tensor) and t._node is not None]
    retain = bool(rng.integers(2))
    if rng.integers(4) == 0:  # a leaf changed in place after it was recorded: the backward pass refuses
        with chainrule.no_grad():
            leaves[int(rng.integers(3))] += 1.0
    for attempt in range(2 if retain else 1):
        try:
            loss.backward(retain_graph=retain and attempt == 0)
        except Exception as error:  # noqa: BLE001
            note("error", type(error).__name__, str(error))
        note("grads", *[t.grad for t in leaves + [weight]])
    try:  # once more: the graph was released (or not, when the last pass failed early)
        loss.backward()
    except Exception as error:  # noqa: BLE001
        note("error", type(error).__name__, str(error))
    note("writable", *[t.data.flags.writeable for t in pool if isinstance(t, chainrule.Tensor)])
    note("released", *[r() is None or r().released for r in nodes])
    pool.clear()
    del loss, traced, result, a, b
    note("freed", *[r() is None for r in nodes])
    note("books", len(_graph._sharers), len(_graph._orphans))
    return seen


def _plain(value):
    if isinstance(value, chainrule.Tensor):
        value = value.data
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        return ("array", array.dtype.str, array.shape, array.tobytes())
    return value


def _run_child(engine: str, programs: int) -> list:
    env = dict(os.environ, CHAINRULE_ENGINE=engine, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "tests.test_engines", str(programs)], env=env, cwd=ROOT,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    return pickle.loads(done.stdout)


@needs_c
def test_random_programs_observe_the_same_on_both_engines():
    c, python = _run_child("c", PROGRAMS), _run_child("python", PROGRAMS)
    assert c["engine"] == "c" and python["engine"] == "python"
    kinds = set()
    for seed, (a, b) in enumerate(zip(c["programs"], python["programs"], strict=True)):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x == y, f"program {seed}, observation {i}: C engine {x!r:.300}, Python engine {y!r:.300}"
        assert len(a) == len(b)
        kinds |= {x[0] for x in a} | {x[1] for x in a if x[0] == "error"}
    # the programs reached what they are there to compare
    assert {"value", "grads", "error", "writable", "freed", "books", "side"} <= kinds
    assert {"ValueError", "RuntimeError", "TypeError"} <= kinds


# ---- the engine switch --------------------------------------------------------------------------------------


def _engine_in_child(value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_ENGINE"}
    if value is not None:
        env["CHAINRULE_ENGINE"] = value
    return subprocess.run([sys.executable, "-c", "import chainrule; print(chainrule.engine_info())"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_chainrule_engine_python_selects_the_reference_engine():
    done = _engine_in_child("python")
    assert done.returncode == 0, done.stderr
    assert "'engine': 'python'" in done.stdout and "CHAINRULE_ENGINE=python" in done.stdout


def test_an_unknown_engine_is_a_clear_error():
    done = _engine_in_child("fortran")
    assert done.returncode != 0
    assert "CHAINRULE_ENGINE='fortran' is not an engine; expected 'c', 'python' or 'auto'" in done.stderr


def test_without_the_c_engine_the_python_engine_runs_and_says_why(tmp_path):
    import shutil

    shutil.copytree(os.path.join(ROOT, "chainrule"), tmp_path / "chainrule",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    # Without site (-S): an editable install's import hook would hand the copy this checkout's C engine;
    # NumPy and the rest come from the site directory on PYTHONPATH, after the copy (the current directory).
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_ENGINE"}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(np.__file__))
    code = "import chainrule; print(chainrule.engine_info()); print(chainrule.grad(lambda x: x * x)(3.0))"
    done = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'engine': 'python', 'reason': 'the C accelerator is not built" in done.stdout
    assert done.stdout.splitlines()[-1] == "6.0"
    env["CHAINRULE_ENGINE"] = "c"
    done = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "CHAINRULE_ENGINE=c, but the C engine cannot be imported" in done.stderr


@needs_c
def test_the_c_engine_is_the_default_when_built():
    done = _engine_in_child(None)
    assert done.returncode == 0, done.stderr
    assert "'engine': 'c'" in done.stdout


def test_engine_info_names_the_engine_in_use():
    info = chainrule.engine_info()
    assert info["engine"] == ("python" if _graph._C is None else "c")
    assert info["reason"]
    if os.environ.get("CHAINRULE_ENGINE") == "python":
        assert info == {"engine": "python", "reason": "selected by CHAINRULE_ENGINE=python"}


# ---- memory, on this interpreter's engine ------------------------------------------------------------------


def _chain(x, n=200):
    y = x
    for _ in range(n // 4):
        y = cnp.tanh(y * 0.9 + x) - 0.1
    return y


def test_repeated_forward_and_backward_leave_nothing_behind():
    x = chainrule.tensor(np.linspace(-1, 1, 16), requires_grad=True)

    def step():
        x.grad = None
        _chain(x).sum().backward()
        (x * x).sum()  # a graph dropped without a backward pass

    for _ in range(20):  # warm: caches, interned numbers
        step()
    gc.collect()
    objects = len(gc.get_objects())
    tracemalloc.start()
    try:
        step()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            step()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(gc.get_objects()) - objects < 50  # (x.grad and its like: no growth per step)
    assert grown < 20_000, f"{grown} bytes more after 200 steps"
    assert not _graph._sharers and not _graph._orphans
    assert x.data.flags.writeable


def test_a_recorded_node_is_one_object_for_the_collector_on_the_c_engine():
    x = chainrule.tensor(np.linspace(-1, 1, 16), requires_grad=True)
    _chain(x, 8)  # warm
    gc.collect()
    gc.disable()
    try:
        before = {id(o) for o in gc.get_objects()}
        y = _chain(x, 400)
        gc.collect()  # (tuples of untracked items drop out here on the Python engine)
        kept = sum(1 for o in gc.get_objects() if id(o) not in before)
    finally:
        gc.enable()
    per_node = kept / 400
    assert per_node <= (1.05 if _graph._C is not None else 2.05), per_node
    del y


def test_a_deep_graph_is_freed_without_recursion():
    x = chainrule.tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    last = weakref.ref(y._node)
    del y
    assert last() is None
    assert x.data.flags.writeable


def test_nodes_keep_the_reference_attributes():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    w = chainrule.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    node = y._node
    assert isinstance(node, chainrule.Node) and type(node) is _graph._LockingNode
    assert node.parents == (x, w) and node.positions == (0, 1) and node.versions == (0, 0)
    assert node.primitive.name == "multiply" and node.kwargs == {} and node.site is None and node.name is None
    assert not node.args[0].flags.writeable and node.locked
    assert repr(node) == "<Node multiply>" and not node.released
    assert weakref.ref(node)() is node
    y.sum().backward()
    assert type(node) is chainrule.Node and node.released and repr(node) == "<Node multiply (released)>"
    assert node.parents == () and node.args is None and x.data.flags.writeable
    made = chainrule.Node(node.primitive, (x, w, x), (0, 1, 0), (1, 2, 3), {}, None)
    assert made.parents == (x, w, x) and made.seq > node.seq and made.locked == ()


def test_a_profiler_sees_the_reference_record_path():
    # chainrule.viz groups nodes by module with a profile hook that watches the Python record path's frames
    calls = []

    def hook(frame, event, arg):
        if event == "call" and frame.f_code is _graph._python_call.__code__:
            calls.append(frame.f_locals["self"].name)

    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    sys.setprofile(hook)
    try:
        cnp.tanh(x * 2.0)
    finally:
        sys.setprofile(None)
    assert calls == ["multiply", "tanh"]


def test_detect_anomaly_names_the_user_line_on_either_engine():
    x = chainrule.tensor([1.0, 0.0], requires_grad=True)
    with chainrule.detect_anomaly():
        line = sys._getframe().f_lineno + 1
        y = cnp.sqrt(x) * 1.0  # sqrt's derivative at 0 is inf: the backward pass names this line
        assert y._node.site.endswith(f"test_engines.py:{line} in test_detect_anomaly_names_the_user_line_on_either_"
                                     "engine")
        with pytest.raises(chainrule.AnomalyError, match=rf"backward of sqrt .*test_engines.py:{line} "), \
                np.errstate(divide="ignore"):
            y.sum().backward()


if __name__ == "__main__":  # a child interpreter of the differential test
    import io

    np.seterr(all="ignore")
    results = {"engine": chainrule.engine_info()["engine"], "programs": [_program(s) for s in range(int(sys.argv[1]))]}
    buffer = io.BytesIO()
    pickle.dump(results, buffer)
    sys.stdout.buffer.write(buffer.getvalue())


# ---- the C engine's common cases of rule-table helpers: the reference's results ------------------------------

_BROADCASTS = [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), (3,)),
               ((4, 2, 3), (2, 3)), ((4, 2, 3), (2, 1)), ((4, 1, 3), (1, 3)), ((2, 3), ()), ((), ()),
               ((5, 70), (70,)), ((2, 0, 3), (3,)), ((3, 4), (1, 1)), ((1, 256), (256,))]


@pytest.mark.parametrize(("g_shape", "target_shape"), _BROADCASTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.int64])
def test_unbroadcast_gives_the_references_result_for_every_kind_of_target(g_shape, target_shape, dtype):
    from chainrule import _rules

    rng = np.random.default_rng(len(g_shape) * 10 + len(target_shape))
    g = (rng.standard_normal(g_shape) * 10).astype(dtype)
    target = np.zeros(target_shape, dtype)
    for kept in (target, _graph.Shape(target), target_shape):  # an array, what a node keeps of one, a tuple
        got, want = _rules.unbroadcast(g, kept), _rules.unbroadcast_reference(g, kept)
        assert type(got) is type(want) and got.shape == want.shape == target_shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    t = chainrule.tensor(g.astype(np.float64), requires_grad=True)  # a Tensor: recorded, as the reference does
    assert _rules.unbroadcast(t, target).shape == target_shape


def test_a_unary_ufunc_forward_is_the_references_in_every_call_form():
    x = np.linspace(-2.0, 2.0, 7)
    forward = cnp.tanh.forward
    np.testing.assert_array_equal(forward(x), np.tanh(x))
    out = np.empty_like(x)
    assert forward(x, out=out) is out and np.array_equal(out, np.tanh(x))  # keywords: the reference's path
    np.testing.assert_array_equal(forward([0.5, 1.0]), np.tanh([0.5, 1.0]))  # not an ndarray: the reference's
    assert forward.__name__ == "tanh" and callable(getattr(forward, "__wrapped__", forward))
    with pytest.raises(TypeError):
        forward(x, x, x, x)
