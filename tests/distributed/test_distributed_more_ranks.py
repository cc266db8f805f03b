"""More ranks than cores: 3 and 4 ranks (oversubscribed on a 2-core machine) still equal one process with
the global batch. With 3 ranks a batch of 10 splits 4/3/3; with 4 ranks the last batch of 3 leaves one
rank with no example at all, which must contribute nothing to the average."""

import numpy as np
import pytest
from test_distributed_two_ranks import _worker, pytestmark, run_ranks  # noqa: F401  (pytestmark: skip without MPI)


@pytest.mark.parametrize(("ranks", "optimizer", "mode"), [(3, "sgd", "eager"), (4, "adam", "compiled")])
def test_more_ranks_equal_one_process_with_the_global_batch(ranks, optimizer, mode, tmp_path):
    done, results = run_ranks(f"fit-{optimizer}-{mode}", tmp_path, ranks=ranks)
    assert done.returncode == 0, done.stderr
    assert len(results) == ranks
    expected = _worker.reference(optimizer, mode == "compiled")
    for rank_result in results:
        for name, value in expected.items():
            np.testing.assert_allclose(rank_result[name], value, rtol=1e-10, atol=1e-12, err_msg=name)
    for other in results[1:]:  # every rank holds the very same weights, bit for bit
        for name in expected:
            np.testing.assert_array_equal(results[0][name], other[name], err_msg=name)
