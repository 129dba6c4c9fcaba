"""Activities on an executor object the user made: a Dask cluster's, or any other.

flowy uses such an executor as it is: it never shuts it down, and the same executor
can serve several workflows and runs.  The Dask tests need the ``dask`` extra and skip
cleanly without it.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

import flowy
from flowy import LocalWorkflow, parallel_reduce


def square(x):
    return x * x


def add(a, b):
    return a + b


def where():
    found = flowy.context()
    return [found.workflow, found.key, found.attempt, flowy.heartbeat()]


def boom(x):
    raise ValueError('no %s' % x)


class SumSquares:
    def __init__(self, square, add, where):
        self.square, self.add, self.where = square, add, where

    def __call__(self, n):
        return [parallel_reduce(self.add, [self.square(i) for i in range(n)]), self.where()]


def sum_squares(executor):
    w = LocalWorkflow(SumSquares, executor=executor)
    w.conf_activity('square', square)
    w.conf_activity('add', add)
    w.conf_activity('where', where)
    return w


EXPECTED = [sum(i * i for i in range(20)), ['SumSquares', 'where-0-0', 0, False]]


def test_an_executor_object_is_used_as_it_is_and_left_open():
    with ThreadPoolExecutor(max_workers=2) as pool:
        w = sum_squares(pool)
        assert w.run(20) == EXPECTED
        w.close()
        assert pool.submit(square, 3).result() == 9  # flowy did not shut it down
        other = sum_squares(pool)
        assert other.run(20) == EXPECTED
        other.close()


def test_an_executor_object_cannot_keep_timeouts():
    with ThreadPoolExecutor(max_workers=1) as pool:
        w = LocalWorkflow(SumSquares, executor=pool)
        with pytest.raises(ValueError, match='has a timeout, which the local engine keeps'):
            w.conf_activity('square', square, timeout=5)


def test_a_thing_that_is_no_executor_is_refused():
    with pytest.raises(TypeError, match="or an executor object such as a Dask client's"):
        LocalWorkflow(SumSquares, executor=42)


class Fails:
    def __init__(self, boom):
        self.boom = boom

    def __call__(self):
        return self.boom(7)


@pytest.fixture(scope='module')
def dask_executor():
    distributed = pytest.importorskip('distributed', reason='needs the dask extra')
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1',
                                       dashboard_address=None, processes=True)
    client = distributed.Client(cluster)
    try:
        yield client.get_executor()
    finally:
        client.close()
        cluster.close()


def test_activities_run_on_a_dask_cluster(dask_executor):
    w = sum_squares(dask_executor)
    assert w.run(20) == EXPECTED
    assert w.run(20) == EXPECTED  # the executor serves later runs too
    w.close()


def test_an_activity_failing_on_a_dask_cluster_fails_its_call(dask_executor):
    w = LocalWorkflow(Fails, executor=dask_executor)
    w.conf_activity('boom', boom)
    with pytest.raises(flowy.TaskError, match='no 7'):
        w.run()
    w.close()
