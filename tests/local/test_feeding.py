"""How the local engine feeds a thread pool: outcomes are never held behind slow work, and
no fault of a worker job leaves a run waiting.

Every wait is bounded by PROMPT; a run that could hang runs on a helper thread that the
test joins with that bound.
"""

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from waiting import bounded_run

import flowy
import flowy.local.feeder
from flowy import LocalWorkflow, TaskError

PROMPT = 10  # seconds: a generous bound for "at once" (the real cost is milliseconds)
DRIVERS = ['cached', 'replay']

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


RUN_RETURNED = threading.Event()
SLOW_SAW = []
SLOW_STARTED = threading.Event()
SLOW_ENDED = threading.Event()


def slow_this_time(x):
    """Quick, except for the call with x == 'slow': that one ends after run() returned."""
    if x != 'slow':
        return x
    SLOW_STARTED.set()
    SLOW_SAW.append(RUN_RETURNED.wait(PROMPT))
    SLOW_ENDED.set()
    return x


class QuickOnesThenASlowOne:
    def __init__(self, task):
        self.task = task

    def __call__(self, n, then_slow):
        results = [self.task(i) for i in range(n)] + ([self.task('slow')] if then_slow else [])
        return flowy.wait(flowy.first(results))


@pytest.mark.parametrize('driver', DRIVERS)
def test_outcomes_are_not_held_behind_a_call_of_a_quick_activity_that_is_slow_this_time(
        driver):
    # Same function throughout: its calls all looked quick until the last one.
    RUN_RETURNED.clear()
    SLOW_STARTED.clear()
    SLOW_ENDED.clear()
    del SLOW_SAW[:]
    with LocalWorkflow(QuickOnesThenASlowOne, activity_workers=1,
                       executor=ThreadPoolExecutor, driver=driver) as w:
        w.conf_activity('task', slow_this_time)
        # A worker thread that already exists takes the calls only once all are queued
        # (a new one would start on the first at once), as in a busy run.
        assert w.run(1, False) == 0
        try:
            assert w.run(20, True) == 0
        finally:
            RUN_RETURNED.set()
        # The slow call may not even have started: run() cancels the calls still queued.
        if SLOW_STARTED.is_set():
            assert SLOW_ENDED.wait(PROMPT)
    assert False not in SLOW_SAW, 'run() returned only after the slow call had ended'


@dataclasses.dataclass
class Scale:
    """A callable that cannot be hashed (eq=True sets __hash__ to None)."""

    factor: int

    def __call__(self, x):
        return x * self.factor


class Fanout:
    def __init__(self, quick):
        self.quick = quick

    def __call__(self, n):
        return list(flowy.finish_order([self.quick(i) for i in range(n)]))


@pytest.mark.parametrize('driver', DRIVERS)
def test_an_unhashable_callable_activity_runs_on_threads(driver):
    with pytest.raises(TypeError):
        hash(Scale(3))
    with LocalWorkflow(Fanout, activity_workers=2, executor=ThreadPoolExecutor,
                       driver=driver) as w:
        w.conf_activity('quick', Scale(3))
        assert sorted(bounded_run(w, 5)) == [0, 3, 6, 9, 12]


class Tries:
    def __init__(self, quick):
        self.quick = quick

    def __call__(self, n):
        messages = []
        for result in [self.quick(i) for i in range(n)]:
            try:
                flowy.wait(result)
            except TaskError as exc:
                messages.append(str(exc))
        return messages


def test_a_fault_of_the_worker_job_fails_each_call_instead_of_hanging(monkeypatch):
    def broken(reporter):
        raise RuntimeError('cannot install the heartbeat reporter')

    monkeypatch.setattr(flowy.local.feeder, 'reporting', broken)
    with LocalWorkflow(Tries, activity_workers=2, executor=ThreadPoolExecutor) as w:
        w.conf_activity('quick', quick)
        messages = bounded_run(w, 3)
    assert len(messages) == 3
    assert all(message.endswith(' failed: RuntimeError: the local engine failed while running '
                                'this activity: cannot install the heartbeat reporter')
               for message in messages), messages


def test_many_quick_outcomes_all_arrive():
    with LocalWorkflow(Fanout, activity_workers=3, executor=ThreadPoolExecutor) as w:
        w.conf_activity('quick', quick)
        assert sorted(w.run(2000)) == list(range(2000))


def tiny(x):
    return x


class FanOut:
    def __init__(self, tiny):
        self.tiny = tiny

    def __call__(self, n):
        return sum(flowy.wait(result) for result in [self.tiny(i) for i in range(n)])


def test_fan_outs_end_however_outcomes_meet_a_worker_doing_the_loops_work():
    # A worker whose call ends while the loop waits does the loop's work; outcomes that
    # end meanwhile must still be taken (not left for the next event to bring them).
    with LocalWorkflow(FanOut, executor=ThreadPoolExecutor, activity_workers=4) as w:
        w.conf_activity('tiny', tiny)
        for _ in range(30):
            assert bounded_run(w, 200) == sum(range(200))
