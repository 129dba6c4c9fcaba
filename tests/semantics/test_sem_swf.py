"""The SWF engine adapter itself: what it leaves behind, and that it really uses SWF."""

import os
import threading

import pytest
import sem_activities as acts
from sem_harness import Flow, make_engine

from flowy import parallel_reduce


class SumOfChildren:
    def __init__(self, child):
        self.child = child

    def __call__(self, n):
        return parallel_reduce(lambda a, b: a + b, [self.child(i) for i in range(1, n + 1)])


class Square:
    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        return self.square(n)


@pytest.mark.engine_only('swf')
def test_an_swf_engine_of_its_own_stops_what_it_started():
    pytest.importorskip('moto')
    from moto.core.models import MockAWS

    environment = dict(os.environ)
    threads = set(threading.enumerate())
    mocks = MockAWS._nested_count
    engine = make_engine('swf')
    w = engine.workflow(SumOfChildren, child=Flow(Square, square=acts.square))
    try:
        assert engine.run(w, 3) == 14
        runtime = engine.runtime
        assert MockAWS._nested_count == mocks + 1
        assert {thread.name for thread in runtime.threads} == {
            'swf-decider-cached', 'swf-activities-0', 'swf-activities-1',
            'swf-activities-2', 'swf-activities-3'}
        decider = runtime.deciders['cached']
        # the root and its three children, each decided by the SWF decider
        assert len(decider.registry) == 2
        assert decider.stats['replays'] == 4 and decider.stats['failed'] == 0
        assert decider.stats['responses'] == decider.stats['decision_tasks']
    finally:
        engine.close()
    assert engine.runtime is None and runtime.threads == []
    assert set(threading.enumerate()) <= threads
    assert MockAWS._nested_count == mocks
    assert dict(os.environ) == environment
