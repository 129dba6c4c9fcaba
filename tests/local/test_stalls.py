"""A run that can make no progress fails, naming what it waits for, instead of hanging.

Each run that could hang runs on a helper thread joined with a bound (PROMPT).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from waiting import bounded_run

import flowy
import flowy.local.engine
from flowy import LocalWorkflow, TaskError
from flowy.decision import Decision
from flowy.result import TaskResult

PROMPT = 10  # seconds: a generous bound for "at once"
DRIVERS = ['cached', 'replay']


def square(x):
    return x * x


def workflow(factory, driver, **activities):
    w = LocalWorkflow(factory, activity_workers=2, executor=ThreadPoolExecutor, driver=driver)
    for dep, func in activities.items():
        w.conf_activity(dep, func)
    return w


class WaitsForAnOrphan:
    """Waits for a result that no call of any run will ever finish."""

    def __init__(self, square):
        self.square = square

    def __call__(self):
        done = self.square(2)
        flowy.wait(done)
        return flowy.wait(TaskResult('orphan-0-0').proxy)


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_body_waiting_for_what_nothing_will_finish_fails_the_run(driver):
    with pytest.raises(TaskError, match='the workflow can make no progress') as info:
        bounded_run(workflow(WaitsForAnOrphan, driver, square=square))
    assert info.value.key is None  # no task failed


KEPT = []


class KeepsAResult:
    def __init__(self, square):
        self.square = square

    def __call__(self, phase):
        if phase == 'keep':
            KEPT.append(self.square(3))  # still pending when this run ends
            return 'kept'
        return flowy.wait(KEPT[0])


@pytest.mark.parametrize('driver', DRIVERS)
def test_waiting_for_a_result_kept_from_another_run_fails_the_run(driver):
    del KEPT[:]
    w = workflow(KeepsAResult, driver, square=square)
    assert bounded_run(w, 'keep') == 'kept'
    with pytest.raises(TaskError, match='square-0-0'):
        bounded_run(w, 'use')


class Child:
    def __init__(self, square):
        self.square = square

    def __call__(self):
        return WaitsForAnOrphan(self.square)()


class Parent:
    def __init__(self, child, square):
        self.child, self.square = child, square

    def __call__(self):
        return self.square(flowy.wait(self.child()))


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_stuck_child_workflow_fails_the_parent_run(driver):
    child = workflow(Child, driver, square=square)
    parent = workflow(Parent, driver, square=square)
    parent.conf_workflow('child', child)
    with pytest.raises(TaskError, match='the workflow can make no progress: it waits for '
                                        'child-0-0, which waits for '):
        bounded_run(parent)


def stuck_driver(waiting_for):
    """A driver whose every decision starts nothing and waits for ``waiting_for``."""
    def decide(config, input_data, history, limit=None):
        return Decision(waiting_for=waiting_for)
    return decide


@pytest.mark.parametrize('driver', DRIVERS)
@pytest.mark.parametrize('waiting_for, named', [
    ('square-3-0', 'square-3-0'),
    (None, 'a result'),
])
def test_the_reason_names_what_the_last_decision_waits_for(monkeypatch, driver, waiting_for,
                                                           named):
    monkeypatch.setattr(flowy.local.engine, 'driver_for',
                        lambda name: stuck_driver(waiting_for))
    with pytest.raises(TaskError) as info:
        bounded_run(workflow(WaitsForAnOrphan, driver, square=square))
    assert str(info.value) == ('the workflow can make no progress: it waits for %s, which '
                               'no running call will ever finish' % named)


class Slow:
    def __init__(self, nap):
        self.nap = nap

    def __call__(self):
        return flowy.wait(self.nap())


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_run_waiting_for_a_running_activity_is_not_stalled(driver):
    # While a call is running the run can move on, however long the call takes.
    started, release = threading.Event(), threading.Event()

    def nap():
        started.set()
        return release.wait(PROMPT)

    w = workflow(Slow, driver, nap=nap)
    releaser = threading.Thread(target=lambda: started.wait(PROMPT) and release.set())
    releaser.start()
    try:
        assert bounded_run(w) is True
    finally:
        release.set()
        releaser.join(PROMPT)
