"""How the local engine feeds a thread pool: outcomes are never held behind slow work."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import flowy
from flowy import LocalWorkflow

RELEASE = threading.Event()


def quick(x):
    return x


def slow(x):
    RELEASE.wait(10)
    return x


class QuickThenSlow:
    def __init__(self, quick, slow):
        self.quick, self.slow = quick, slow

    def __call__(self):
        # One worker runs the fifty quick calls (learning they are quick, so their
        # outcomes may be reported together), then the slow one: what it holds must
        # reach the workflow before the slow call starts.
        quick = [self.quick(i) for i in range(50)]
        return flowy.wait(flowy.first(quick[-1], self.slow(-1)))


def test_a_quick_outcome_is_not_held_while_a_slow_activity_runs():
    RELEASE.clear()
    with LocalWorkflow(QuickThenSlow, activity_workers=1, executor=ThreadPoolExecutor) as w:
        w.conf_activity('quick', quick)
        w.conf_activity('slow', slow)
        start = time.monotonic()
        try:
            assert w.run() == 49
            assert time.monotonic() - start < 5
        finally:
            RELEASE.set()


class Fanout:
    def __init__(self, quick):
        self.quick = quick

    def __call__(self, n):
        return list(flowy.finish_order([self.quick(i) for i in range(n)]))


def test_many_quick_outcomes_all_arrive():
    with LocalWorkflow(Fanout, activity_workers=3, executor=ThreadPoolExecutor) as w:
        w.conf_activity('quick', quick)
        assert sorted(w.run(2000)) == list(range(2000))
