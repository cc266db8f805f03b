"""The benchmark scripts run, and measure what they say (no timing is asserted: speed lives in benchmarks/)."""

import gc
import re

import numpy as np
import pytest

import chainrule
from benchmarks import problems, run
from benchmarks.peers import chainrule_impl, minimal_impl, numpy_impl


def test_xla_flags_are_all_prefixed_flags():
    # XLA exits on an unknown flag and ignores a bare word: every token must be a real `--` flag
    env = run.thread_environment(1, {"XLA_FLAGS": "--xla_dump_to=/tmp/x"})
    tokens = env["XLA_FLAGS"].split()
    assert tokens == ["--xla_dump_to=/tmp/x", "--xla_cpu_multi_thread_eigen=false"]
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert "XLA_FLAGS" not in run.thread_environment(2, {})


def test_rounds_rotate_so_each_library_goes_first_in_turn():
    names = ["a", "b", "c"]
    firsts = [run.rotated(names, r)[0] for r in range(3)]
    assert sorted(firsts) == names
    assert all(sorted(run.rotated(names, r)) == names for r in range(5))
    assert run.rotated([], 3) == []


def test_ratios_pair_rounds_and_ignore_a_shared_slowdown():
    # round 2 is slow for everyone (load on the machine): per-round ratios are unaffected, unlike the
    # ratio of the two libraries' fastest times taken in different rounds
    reference = [1.0, 3.0, 1.0]
    peer = [0.5, 1.5, 0.5]
    assert run.paired_ratios(peer, reference) == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError):
        run.paired_ratios([1.0], reference)


def test_sample_switches_the_collector_and_restores_it():
    states = []
    assert gc.isenabled()
    run.sample(lambda: states.append(gc.isenabled()), 2, gc_on=False)
    run.sample(lambda: states.append(gc.isenabled()), 2, gc_on=True)
    assert states == [False, False, True, True]
    assert gc.isenabled()


def test_targets_use_paired_ratios_and_gc_on_over_off():
    results = {"long_chain": {"chainrule": run.Series(on=[1.2, 2.4], off=[1.0, 2.0])},
               "mlp": {"chainrule": run.Series(on=[2.0, 4.0, 2.0], off=[2.0, 4.0, 2.0]),
                       "NumPy by hand": run.Series(on=[1.0, 4.0, 1.0], off=[1.0, 4.0, 1.0])}}
    assert run.target_ratio(results, "long_chain", "chainrule", None) == pytest.approx(1.2)
    assert run.target_ratio(results, "mlp", "chainrule", "NumPy by hand") == pytest.approx(2.0)
    assert run.target_ratio(results, "mlp", "chainrule", "PyTorch") is None
    table = run.targets_table(results)
    assert "| long chain: GC on ≤ 1.15× GC off | 1.20× | no |" in table
    assert "| MLP step ≤ 0.9× PyTorch | not run | — |" in table


def test_the_three_loss_formulations_agree():
    # the rows 2, 2c and 2d must time the same mathematics, written three ways
    problem = problems.mlp("small", (5, 4, 3), 6, seed=3)
    values, grads = [], []
    for loss in problems.LOSSES:
        fn = chainrule.value_and_grad(chainrule_impl.make_loss_fn(loss), argnums=(0, 1))
        value, (gw, gb) = fn(problem.weights, problem.biases, problem.x, problem.labels, problem.onehot)
        values.append(float(value))
        grads.append(np.concatenate([g.ravel() for g in list(gw) + list(gb)]))
    np.testing.assert_allclose(values, values[0], rtol=1e-5)
    for g in grads[1:]:
        np.testing.assert_allclose(g, grads[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss", problems.LOSSES)
def test_compiled_steps_follow_the_eager_step(loss):
    problem = problems.mlp("small", (5, 4, 3), 6, seed=3)
    compiled = chainrule_impl.Compiled().make_step(problem, loss)
    not_donated = chainrule_impl.CompiledNotDonated().make_step(problem, loss)
    eager = chainrule_impl.Eager().make_step(problem, loss)
    for _ in range(3):  # the parameters move: each step's loss is the next one's start
        expected = eager()
        assert compiled() == pytest.approx(expected, rel=1e-5)
        assert not_donated() == pytest.approx(expected, rel=1e-5)


def test_hand_written_reference_is_the_eager_step_at_batch_one():
    problem = problems.mlp("batch 1", (7, 5, 3), 1, seed=4)
    by_hand, eager = numpy_impl.HandWritten().make_step(problem), chainrule_impl.Eager().make_step(problem)
    for _ in range(3):
        assert by_hand() == pytest.approx(eager(), rel=1e-5)


def test_minimal_tape_peer_gives_chainrules_gradient():
    x0, plan = problems.chain_input(), problems.chain_plan(40)
    np.testing.assert_allclose(minimal_impl.MinimalTape().make_chain(x0, plan)(),
                               chainrule_impl.Eager().make_chain(x0, plan)(), rtol=1e-12)


def test_quick_run_reports_every_requested_row(tmp_path, capsys):
    out = tmp_path / "results.md"
    cases = "chain,long_chain,logsumexp,memory"
    assert run.main(["--quick", "--peers", "minimal", "--cases", cases, "--out", str(out)]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    main = text.split("\n\n")[2].splitlines()
    assert main[0].startswith("| case | chainrule | chainrule, GC off | chainrule.compile |")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in main[2:]}
    assert set(rows) == {"1. per-op overhead, µs per op", "1b. 20,000-op chain, s",
                         "2d. MLP step, loss by a hand-written logsumexp, ms",
                         "5a. peak memory of an MLP step, MiB"}
    assert "—" not in rows["1b. 20,000-op chain, s"].split(" | ")[2]  # chainrule with GC off was timed
    assert "| long chain: GC on ≤ 1.15× GC off |" in text
    assert "Notes:" not in text  # no library failed or disagreed with chainrule's gradient
    engine = chainrule.engine_info()
    assert f"`chainrule`, `chainrule, GC off`, `chainrule.compile`, `chainrule.compile, not donated`: " \
           f"{engine['engine']} ({engine['reason']})" in text
    assert "`chainrule, Python engine`: python (selected by CHAINRULE_ENGINE=python; timed in an interpreter " \
           "of its own)" in text
    python_column = main[0].split(" | ").index("chainrule, Python engine")
    cells = {name: line.split(" | ")[python_column] for name, line in rows.items()}
    assert re.fullmatch(r"[0-9.]+ \([0-9.]+×\)", cells["1. per-op overhead, µs per op"])  # timed, with a ratio
    assert {cells[name] for name in rows if not name.startswith("1.")} == {"—"}  # case 1 only


def test_measured_variants_of_case_one_compute_its_gradient():
    from benchmarks import where_time_goes

    plan = problems.chain_plan(60)
    expected = chainrule_impl.Eager().make_chain(problems.chain_input(), plan)()
    for name in ("numpy", "lean", "minimal", "chainrule"):
        np.testing.assert_allclose(where_time_goes.VARIANTS[name](plan)(), expected, rtol=1e-12)


def test_callgrind_names_are_shortened_and_grouped():
    from benchmarks import where_time_goes

    name = "/tmp/build/Python/ceval.c:_PyEval_EvalFrameDefault'2 [/usr/lib/libpython3.11.so.1.0]"
    assert where_time_goes._short(name) == "ceval.c:_PyEval_EvalFrameDefault"
    numpy_name = "???:ufunc_generic_fastcall [/site-packages/numpy/_core/_multiarray_umath.cpython-311.so]"
    assert where_time_goes._short(numpy_name) == "_multiarray_umath.cpython-311.so:ufunc_generic_fastcall"
    group = {n: next(g for g, p in where_time_goes.GROUPS if re.search(p, n))
             for n in (name, numpy_name, "/x/Modules/gcmodule.c:visit_reachable [/x/libpython3.11.so]",
                       "/x/Modules/gcmodule.c:_PyObject_GC_New [/x/libpython3.11.so]")}
    assert list(group.values()) == ["interpreter loop", "NumPy (its own code) and libm", "cyclic GC (collections)",
                                    "allocation and deallocation"]


def test_rounds_flag_sets_the_rounds_reported_and_refuses_nonsense(tmp_path, capsys):
    out = tmp_path / "results.md"
    assert run.main(["--quick", "--rounds", "2", "--peers", "minimal", "--cases", "chain", "--out", str(out)]) == 0
    assert "(2 per case, 1 for the long chain)" in out.read_text()
    assert capsys.readouterr().err.count("chain round") == 2
    with pytest.raises(SystemExit) as stopped:
        run.main(["--rounds", "0"])
    assert stopped.value.code == 2 and "--rounds must be at least 1" in capsys.readouterr().err


def test_python_engine_column_runs_in_an_interpreter_of_its_own():
    settings = run.Settings(quick=True)
    remote = run.InInterpreter("chain", chainrule_impl.PythonEngine(), settings)
    try:
        assert remote.fits and remote.engine["engine"] == "python"
        x0, plan = problems.chain_input(), problems.chain_plan()
        np.testing.assert_allclose(remote.check[0], chainrule_impl.Eager().make_chain(x0, plan)(), rtol=1e-12)
        assert remote.scale == 1e6 / len(plan)
        for gc_on in (True, False, True):
            seconds, cpu_per_wall = remote.sample(gc_on)
            assert seconds > 0 and 0 < cpu_per_wall < 2
    finally:
        remote.close()
    assert remote.process.returncode == 0
    unfit = run.InInterpreter("mlp", chainrule_impl.PythonEngine(), settings)  # case 1 only
    assert not unfit.fits and unfit.process.returncode == 0


def test_an_interpreter_that_fails_says_why(monkeypatch):
    monkeypatch.setattr(chainrule_impl.PythonEngine, "environment", {"CHAINRULE_ENGINE": "neither"})
    with pytest.raises(RuntimeError, match=r"its interpreter exited \(status 1\): ValueError: chainrule: "
                                           r"CHAINRULE_ENGINE='neither' is not an engine"):
        run.InInterpreter("chain", chainrule_impl.PythonEngine(), run.Settings(quick=True))


def test_engine_targets_count_only_the_engine_they_are_for():
    chain = {"chainrule": run.Series(on=[1.0, 1.25], off=[1.0, 1.25]),
             run.PYTHON_ENGINE: run.Series(on=[2.0, 3.0], off=[2.0, 3.0]),
             "PyTorch": run.Series(on=[4.0, 5.0], off=[4.0, 5.0])}
    python = {"engine": "python", "reason": "selected by CHAINRULE_ENGINE=python"}
    c = {"engine": "c", "reason": "the C accelerator"}
    table = run.targets_table({"chain": chain}, {"chainrule": c, run.PYTHON_ENGINE: python})
    assert "| per-op overhead ≤ 0.7× PyTorch (pure-Python engine) | 0.55× | yes |" in table  # 2/4, 3/5
    assert "| per-op overhead ≤ 0.5× PyTorch (C accelerator) | 0.25× | yes |" in table
    table = run.targets_table({"chain": chain}, {"chainrule": python, run.PYTHON_ENGINE: python})
    assert "| per-op overhead ≤ 0.5× PyTorch (C accelerator) | not run (`chainrule` ran on the python engine) | — |" \
        in table
    line = run.engines_line(["chainrule", run.PYTHON_ENGINE, "PyTorch"],
                            {"chainrule": c, run.PYTHON_ENGINE: {**python, "where": "elsewhere"}})
    assert line == ("chainrule's engines: `chainrule`, `chainrule, GC off`: c (the C accelerator); "
                    "`chainrule, Python engine`: python (selected by CHAINRULE_ENGINE=python; elsewhere).")
