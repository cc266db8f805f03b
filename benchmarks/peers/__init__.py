"""One module per library. Each defines ``PEER`` (the name used by ``--peers``), ``IMPORT`` (the statement
timed in case 5, or None) and ``variants()``: a list of :class:`benchmarks.peers.base.Variant` (e.g. JAX with
and without ``jit``). A module whose library is not importable is skipped by the runner."""

MODULES = ("chainrule_impl", "numpy_impl", "torch_impl", "jax_impl", "autograd_impl", "mygrad_impl",
           "micrograd_impl", "minimal_impl")
