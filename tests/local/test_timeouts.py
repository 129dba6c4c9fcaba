"""Timeouts and retries on the local engine, with SWF's semantics.

Retry delays are timers of the event loop; timeouts of activities on threads count from
the moment a worker starts the attempt.  Times are read with ``Engine.clock``, the clock
of the engine's timers.  Real timeouts are short (a fraction of a second) where the
point is real time, and every wait is bounded; the timer heap and the heartbeat deadline
logic are also checked under a fake clock, at the end.
"""

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_retries import FanOut
from waiting import PROMPT, bounded_run

import flowy
from flowy import LocalWorkflow, TaskError, TaskTimedout, wait
from flowy.local.engine import Engine
from flowy.local.feeder import Attempt

DRIVERS = ['cached', 'replay']


class One:
    """Returns what one call of ``task`` gives, or 'timeout: ...' / 'error: ...'."""

    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        try:
            return wait(self.task(*args))
        except TaskTimedout as exc:
            return 'timeout: %s' % exc
        except TaskError as exc:
            return 'error: %s' % exc


class WithChild(One):
    def __init__(self, task, child):
        super().__init__(task)
        self.child = child


class Unprotected:
    def __init__(self, task):
        self.task = task

    def __call__(self, *args):
        return self.task(*args)


def threads(factory, driver='cached', workers=4):
    return LocalWorkflow(factory, executor=ThreadPoolExecutor, driver=driver,
                         activity_workers=workers)


class Attempts:
    """An activity whose attempts behave as ``plan`` says; it records when each started.

    ``plan[n]`` for attempt n (the last entry repeats): 'ok' returns ``'ok <n>'``,
    'fail' raises, 'hang' heartbeats until it is told to stop (then returns 'late'),
    'silent' waits for ``release`` without heartbeats (then returns 'late').
    """

    def __init__(self, plan):
        self.plan = plan
        self.started = []
        self.told = []  # what heartbeat() said to attempts after they were timed out
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            attempt = len(self.started)
            self.started.append(Engine.clock())
        what = self.plan[min(attempt, len(self.plan) - 1)]
        if what == 'fail':
            raise ValueError('attempt %d failed' % attempt)
        if what == 'hang':
            deadline = time.monotonic() + PROMPT
            while time.monotonic() < deadline:
                if flowy.heartbeat():
                    self.told.append(attempt)
                    return 'late'
                time.sleep(0.01)
            return 'never told'
        if what == 'silent':
            self.release.wait(PROMPT)
            self.told.append(flowy.heartbeat())
            return 'late'
        return 'ok %d' % attempt


def eventually(condition):
    """Wait (at most PROMPT seconds) for ``condition()`` set by another thread."""
    deadline = time.monotonic() + PROMPT
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


# -- configuration -------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['timeout', 'heartbeat'])
@pytest.mark.parametrize('value, error', [
    (0, ValueError), (-1, ValueError), (float('inf'), ValueError), (float('nan'), ValueError),
    (True, TypeError), ('5', TypeError)])
def test_timeouts_must_be_positive_finite_numbers(name, value, error):
    w = threads(One)
    with pytest.raises(error, match=name):
        w.conf_activity('task', len, **{name: value})
    assert not w.specs


def test_retries_are_checked():
    w = threads(One)
    with pytest.raises(ValueError, match='at least one attempt'):
        w.conf_activity('task', len, retry=())
    with pytest.raises(ValueError, match='retry delays'):
        w.conf_activity('task', len, retry=(0, -1))
    with pytest.raises(ValueError, match='timeout'):
        w.conf_workflow('child', threads(One), timeout=0)


def test_configuration_is_kept():
    w = threads(One)
    w.conf_activity('task', len, retry=(0, 5), retry_failures=True, timeout=2.5, heartbeat=1)
    spec = w.specs['task']
    assert (spec.retry, spec.retry_failures, spec.timeout, spec.heartbeat) == (
        (0, 5), True, 2.5, 1)
    w = threads(WithChild)
    w.conf_workflow('child', threads(One), retry=(0, 1), timeout=3)
    assert (w.specs['child'].retry, w.specs['child'].timeout) == ((0, 1), 3)


# -- retries ---------------------------------------------------------------------------------

@pytest.mark.parametrize('driver', DRIVERS)
def test_a_failure_is_retried_after_its_delay_with_retry_failures(driver):
    task = Attempts(['fail', 'fail', 'ok'])
    w = threads(One, driver)
    w.conf_activity('task', task, retry=(0, 0.3, 0.2), retry_failures=True)
    assert bounded_run(w) == 'ok 2'
    first, second, third = task.started
    assert second - first >= 0.3
    assert third - second >= 0.2


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_failure_is_not_retried_without_retry_failures(driver):
    task = Attempts(['fail', 'ok'])
    w = threads(One, driver)
    w.conf_activity('task', task, retry=(0, 0))
    assert bounded_run(w) == 'error: task-0-0 failed: ValueError: attempt 0 failed'
    assert len(task.started) == 1


def test_the_last_failure_is_the_error_and_fails_an_unprotected_workflow():
    task = Attempts(['fail'])
    w = threads(Unprotected)
    w.conf_activity('task', task, retry=(0, 0), retry_failures=True)
    with pytest.raises(TaskError, match='attempt 1 failed'):
        bounded_run(w)


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_pending_retry_is_progress_not_a_stall(driver):
    # Nothing runs while the retry waits: only its timer can move the run on.
    task = Attempts(['fail', 'ok'])
    w = threads(One, driver)
    w.conf_activity('task', task, retry=(0, 0.4), retry_failures=True)
    assert bounded_run(w) == 'ok 1'


def fail_once(marker):  # module level: a process pool pickles it by reference
    if not os.path.exists(marker):
        open(marker, 'w').close()
        raise ValueError('first attempt')
    return 'second attempt'


def test_retries_and_their_delays_work_on_processes(tmp_path):
    w = LocalWorkflow(One, executor=ProcessPoolExecutor, activity_workers=1)
    w.conf_activity('task', fail_once, retry=(0, 0.2), retry_failures=True)
    start = Engine.clock()
    assert bounded_run(w, str(tmp_path / 'marker'), _within=60) == 'second attempt'
    assert Engine.clock() - start >= 0.2


# -- timeouts on threads -----------------------------------------------------------------------

@pytest.mark.parametrize('driver', DRIVERS)
def test_a_start_to_close_timeout_retries_and_discards_the_late_result(driver):
    task = Attempts(['hang', 'ok'])
    w = threads(One, driver)
    w.conf_activity('task', task, retry=(0, 0.1), timeout=0.2)
    assert bounded_run(w) == 'ok 1'
    assert eventually(lambda: task.told == [0])  # heartbeat() said True to it
    assert task.started[1] - task.started[0] >= 0.3


@pytest.mark.parametrize('driver', DRIVERS)
def test_the_last_timeout_is_a_task_timedout_naming_the_kind(driver):
    task = Attempts(['hang'])
    w = threads(One, driver)
    w.conf_activity('task', task, retry=(0, 0), timeout=0.2)
    assert bounded_run(w) == (
        'timeout: task-0 timed out on all 2 attempts: task-0-1 timed out: ran longer than '
        'its timeout of 0.2 s (start-to-close)')
    assert eventually(lambda: sorted(task.told) == [0, 1])


def test_an_unprotected_workflow_fails_with_the_timeout():
    w = threads(Unprotected)
    w.conf_activity('task', Attempts(['hang']), timeout=0.2)
    with pytest.raises(TaskError, match=r'task-0 timed out on all 1 attempts: .*start-to-close'):
        bounded_run(w)


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_heartbeat_timeout(driver):
    task = Attempts(['silent', 'ok'])
    w = threads(One, driver)
    w.conf_activity('task', task, retry=(0, 0), heartbeat=0.2)
    try:
        assert bounded_run(w) == 'ok 1'
    finally:
        task.release.set()
    assert eventually(lambda: task.told == [True])


def test_the_heartbeat_timeout_names_its_kind():
    task = Attempts(['silent'])
    w = threads(One)
    w.conf_activity('task', task, heartbeat=0.2)
    try:
        assert bounded_run(w) == (
            'timeout: task-0 timed out on all 1 attempts: task-0-0 timed out: no heartbeat '
            'for 0.2 s (heartbeat timeout)')
    finally:
        task.release.set()


def test_heartbeats_keep_an_attempt_alive():
    def beating():
        for _ in range(40):  # 0.4 s or more, with a heartbeat every 0.01 s
            assert not flowy.heartbeat()
            time.sleep(0.01)
        return 'done'

    w = threads(One)
    w.conf_activity('task', beating, heartbeat=0.2)
    assert bounded_run(w) == 'done'


def test_a_timeout_counts_from_the_start_not_from_scheduling():
    # One worker, busy for 0.4 s: 'task' waits longer than its timeout before it starts.
    gate = threading.Event()

    def busy():
        gate.wait(0.4)
        return 'busy'

    def quick():
        return 'quick'

    class Together:
        def __init__(self, busy, task):
            self.busy, self.task = busy, task

        def __call__(self):
            first, second = self.busy(), self.task()
            return [wait(first), wait(second)]

    w = threads(Together, workers=1)
    w.conf_activity('busy', busy)
    w.conf_activity('task', quick, timeout=0.2)
    assert bounded_run(w) == ['busy', 'quick']


# -- child workflows ----------------------------------------------------------------------------

@pytest.mark.parametrize('driver', DRIVERS)
def test_a_child_workflow_that_runs_too_long_is_ended_and_retried(driver):
    task = Attempts(['hang', 'ok'])
    child = threads(Unprotected, driver)
    child.conf_activity('task', task)
    parent = threads(One, driver)
    parent.conf_workflow('task', child, retry=(0, 0.1), timeout=0.3)
    assert bounded_run(parent) == 'ok 1'
    # The first child was ended: its activity heard so from heartbeat().
    assert eventually(lambda: task.told == [0])


def test_the_last_child_timeout_is_a_task_timedout():
    child = threads(Unprotected)
    child.conf_activity('task', Attempts(['hang']))
    parent = threads(One)
    parent.conf_workflow('task', child, timeout=0.2)
    assert bounded_run(parent) == (
        'timeout: task-0 timed out on all 1 attempts: task-0-0 timed out: the child workflow '
        'ran longer than its timeout of 0.2 s (start-to-close)')


def test_a_child_that_ends_in_time_is_not_timed_out():
    child = threads(Unprotected)
    child.conf_activity('task', Attempts(['ok']))
    parent = threads(One)
    parent.conf_workflow('task', child, timeout=5)
    start = Engine.clock()
    assert bounded_run(parent) == 'ok 0'
    assert Engine.clock() - start < 5


# -- both drivers decide the same on the local engine --------------------------------------------

class Planned:
    """Call ``i``'s attempts behave as ``plans[i]`` says ('ok', 'fail' or 'hang')."""

    def __init__(self, plans):
        self.plans = plans
        self.tasks = [Attempts(plan) for plan in plans]

    def __call__(self, i):
        return self.tasks[i]()


def expected(plans, attempts, retry_failures):
    shown = []
    for i, plan in enumerate(plans):
        for attempt in range(attempts):
            what = plan[min(attempt, len(plan) - 1)]
            last = attempt == attempts - 1
            if what == 'ok':
                shown.append('ok %d' % attempt)
                break
            if what == 'fail' and (last or not retry_failures):
                shown.append('error: task-%d-%d failed: ValueError: attempt %d failed'
                             % (i, attempt, attempt))
                break
            if what == 'hang' and last:
                shown.append('timeout: task-%d timed out on all %d attempts: task-%d-%d timed '
                             'out: ran longer than its timeout of 0.1 s (start-to-close)'
                             % (i, attempts, i, attempt))
                break
    return shown


@settings(max_examples=12, deadline=None)
@given(attempts=st.integers(1, 3), retry_failures=st.booleans(),
       plans=st.lists(st.lists(st.sampled_from(['ok', 'fail', 'hang']), min_size=1,
                               max_size=3), min_size=1, max_size=3))
def test_both_drivers_run_random_retries_and_timeouts_the_same(attempts, retry_failures,
                                                                 plans):
    results = []
    for driver in DRIVERS:
        w = threads(FanOut, driver, workers=8)
        w.conf_activity('task', Planned(plans), retry=(0,) + (0.01,) * (attempts - 1),
                        retry_failures=retry_failures, timeout=0.1)
        try:
            results.append(bounded_run(w, len(plans), _within=60))
        finally:
            w.close()
    assert results[0] == results[1] == expected(plans, attempts, retry_failures)


# -- the timers and timeouts under a fake clock ----------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeRun:
    """Stands for a Run: records the timeouts the engine reports."""

    def __init__(self):
        self.timeouts = []

    def timed_out(self, key, reason):
        self.timeouts.append((key, reason))


def fake_engine():
    engine = Engine(threads(One), False, None)
    engine.clock = FakeClock()
    return engine


def test_timers_run_in_time_order_once_due_and_not_when_cancelled():
    engine = fake_engine()
    ran = []
    engine.after(5, lambda: ran.append('five'))
    engine.after(1, lambda: ran.append('one'))
    cancelled = engine.after(3, lambda: ran.append('three'))
    engine.cancel(cancelled)
    assert engine.live_timers == 2
    assert engine._until_deadline() == 1
    engine.clock.now += 0.5
    engine._run_timers()
    assert ran == []
    engine.clock.now += 4
    engine._run_timers()
    assert ran == ['one']
    assert engine._until_deadline() == 0.5
    engine.clock.now += 10
    engine._run_timers()
    assert ran == ['one', 'five']
    assert engine.live_timers == 0 and engine._until_deadline() is None


def test_pending_timers_keep_a_run_from_counting_as_stalled():
    engine = fake_engine()
    assert engine._stalled()
    timer = engine.after(3600, lambda: None)
    assert not engine._stalled()
    engine.cancel(timer)
    assert engine._stalled()


def test_cancelled_timers_do_not_pile_up():
    engine = fake_engine()
    for _ in range(1000):
        engine.cancel(engine.after(60, lambda: None))
    assert engine.live_timers == 0
    assert len(engine.timers) <= 64


def armed(engine, timeout=None, heartbeat=None):
    run = FakeRun()
    attempt = Attempt(engine, run, 'task-0-0', timeout, heartbeat)
    engine.in_flight += 1
    attempt.begin()  # as the worker thread does: the timeouts count from here
    engine._drain()  # the loop arms its timers
    return attempt, run


def test_heartbeats_push_the_heartbeat_deadline_back():
    engine = fake_engine()
    attempt, run = armed(engine, heartbeat=2)
    for _ in range(10):  # 15 s in all, a heartbeat every 1.5 s
        engine.clock.now += 1.5
        attempt.beat()
        engine._run_timers()
    assert run.timeouts == [] and not attempt.timed_out
    engine.clock.now += 1.9
    engine._run_timers()
    assert run.timeouts == []
    engine.clock.now += 0.1
    engine._run_timers()
    assert run.timeouts == [
        ('task-0-0', 'task-0-0 timed out: no heartbeat for 2 s (heartbeat timeout)')]
    assert attempt.timed_out and engine.in_flight == 0
    assert not attempt.close()  # its late outcome is dropped
    assert engine.live_timers == 0


def test_heartbeats_do_not_extend_a_start_to_close_timeout():
    engine = fake_engine()
    attempt, run = armed(engine, timeout=5, heartbeat=2)
    for _ in range(3):
        engine.clock.now += 1.6
        attempt.beat()
        engine._run_timers()
    assert run.timeouts == []
    engine.clock.now += 0.2  # 5 s since the start
    engine._run_timers()
    assert run.timeouts == [
        ('task-0-0', 'task-0-0 timed out: ran longer than its timeout of 5 s '
                     '(start-to-close)')]
    assert engine.live_timers == 0


def test_an_attempt_that_ends_in_time_cancels_its_timers():
    engine = fake_engine()
    attempt, run = armed(engine, timeout=5, heartbeat=2)
    engine.clock.now += 1
    assert attempt.close()
    assert engine.live_timers == 0
    engine.clock.now += 100
    engine._run_timers()
    assert run.timeouts == [] and not attempt.timed_out
