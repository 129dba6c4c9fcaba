"""Pools shared by concurrent runs of one LocalWorkflow: a run that is interrupted leaves
the other runs their pools.

The interruption comes from a tracer, called on the run's event loop, that raises
KeyboardInterrupt there once the other run's activity is running.  Every wait is bounded.
"""

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import flowy
from flowy import LocalWorkflow
from flowy.local import Tracer

PROMPT = 10  # seconds: a generous bound for "soon"


def wait_for_file(path, timeout=PROMPT):
    """Poll (bounded) for ``path``: processes share no event with the test."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def blocks(directory):
    """Says it started, then waits for the test to release it (module level: picklable)."""
    open(os.path.join(directory, 'started'), 'w').close()
    return wait_for_file(os.path.join(directory, 'release'))


def step(x):
    return [x, os.getpid()]


class TwoSteps:
    def __init__(self, blocks, step):
        self.blocks, self.step = blocks, step

    def __call__(self, directory):
        if directory is None:
            return self.step(0)
        released = self.blocks(directory)
        return self.step(released)  # a call made after the other run was interrupted


class InterruptsOnceTheOtherRuns(Tracer):
    def __init__(self, started):
        super().__init__()
        self.started = started

    def workflow_started(self, *args):
        assert wait_for_file(self.started)
        raise KeyboardInterrupt('interrupted on purpose')


@pytest.mark.parametrize('executor', [ThreadPoolExecutor, ProcessPoolExecutor],
                         ids=['threads', 'processes'])
@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_an_interrupted_run_leaves_a_concurrent_run_its_pools(tmp_path, executor, driver):
    w = LocalWorkflow(TwoSteps, activity_workers=2, executor=executor, driver=driver)
    w.conf_activity('blocks', blocks)
    w.conf_activity('step', step)
    outcome = {}

    def other_run():
        try:
            outcome['value'] = w.run(str(tmp_path))
        except BaseException as exc:
            outcome['error'] = exc

    other = threading.Thread(target=other_run, daemon=True)
    other.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            w.run(None, _trace=InterruptsOnceTheOtherRuns(str(tmp_path / 'started')))
    finally:
        (tmp_path / 'release').touch()
        other.join(PROMPT)
    assert not other.is_alive()
    assert 'error' not in outcome, outcome['error']
    released, pid = outcome['value']
    assert released is True
    # The pools were retired: a later run starts new ones and works.
    assert w.run(None)[0] == 0
    if executor is ProcessPoolExecutor:
        assert w.run(None)[1] != pid
    w.close()


def test_close_while_a_run_is_active_leaves_it_its_pools(tmp_path):
    started, release = threading.Event(), threading.Event()

    def waits(x):
        started.set()
        return [release.wait(PROMPT), None]

    class Both:
        def __init__(self, waits, step):
            self.waits, self.step = waits, step

        def __call__(self):
            flowy.wait(self.waits(1))
            return self.step(2)[0]  # needs the pool after close()

    w = LocalWorkflow(Both, activity_workers=2, executor=ThreadPoolExecutor)
    w.conf_activity('waits', waits)
    w.conf_activity('step', step)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(value=w.run()), daemon=True)
    runner.start()
    try:
        assert started.wait(PROMPT)
        w.close()
    finally:
        release.set()
        runner.join(PROMPT)
    assert outcome == {'value': 2}
