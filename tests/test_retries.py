"""Retries: timed-out attempts start again, failed ones too with ``retry_failures``.

Both drivers must agree on every decision whatever the outcomes of the attempts and the
order they finish in; a hypothesis test plays random runs against both.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowy import TaskError, TaskTimedout, wait
from flowy.config import ACTIVITY, TaskSpec, WorkflowConfig
from flowy.decision import Fail, Finish
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import History
from flowy.serialization import dumps


class FanOut:
    """Calls ``task`` once per input item; returns what each call gave (or its error)."""

    def __init__(self, task):
        self.task = task

    def __call__(self, n):
        results = [self.task(i) for i in range(n)]
        shown = []
        for result in results:
            try:
                shown.append(wait(result))
            except TaskTimedout as exc:
                shown.append('timeout: %s' % exc)
            except TaskError as exc:
                shown.append('error: %s' % exc)
        return shown


def config(attempts, retry_failures):
    workflow = WorkflowConfig(FanOut)
    workflow._add_task(TaskSpec('task', ACTIVITY, None, retry=(0,) + (3,) * (attempts - 1),
                                retry_failures=retry_failures))
    return workflow


def finish(history, key, outcome):
    if outcome == 'ok':
        history.completed(key, dumps(key))
    elif outcome == 'fail':
        history.failed(key, 'failed %s' % key)
    else:
        history.timed_out(key, 'START_TO_CLOSE timeout')


def play(workflow, n, outcomes, picks):
    """Run ``workflow`` under both drivers; return the decisions (asserting they agree).

    ``outcomes[i]`` lists the outcome of each attempt of call ``i`` (the last repeats);
    ``picks`` chooses which running attempt finishes next.
    """
    cached = CachedDriver()
    histories = (History(), History())
    input_data = dumps([[n], {}])
    running, decisions = [], []
    picks = list(picks)
    for _ in range(10 * n * 4 + 10):
        replayed = replay(workflow, input_data, histories[0])
        live = cached(workflow, input_data, histories[1])
        assert replayed == live
        decisions.append(replayed)
        if replayed.outcome is not None:
            return decisions
        for call in replayed.calls:
            for history in histories:
                history.scheduled(call.key, call.position)
            running.append(call)
        assert running, 'the workflow waits for nothing'
        call = running.pop(picks.pop() % len(running) if picks else 0)
        tries = outcomes[call.call_number]
        outcome = tries[min(call.attempt, len(tries) - 1)]
        for history in histories:
            finish(history, call.key, outcome)
    raise AssertionError('the run did not end')


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 4), attempts=st.integers(1, 3), retry_failures=st.booleans(),
       data=st.data())
def test_both_drivers_retry_the_same_way(n, attempts, retry_failures, data):
    outcomes = [data.draw(st.lists(st.sampled_from(['ok', 'fail', 'timeout']), min_size=1,
                                   max_size=3)) for _ in range(n)]
    picks = data.draw(st.lists(st.integers(0, 10), max_size=4 * n * attempts))
    decisions = play(config(attempts, retry_failures), n, outcomes, picks)
    assert type(decisions[-1].outcome) is Finish


def run(attempts, retry_failures, outcomes):
    decisions = play(config(attempts, retry_failures), len(outcomes), outcomes, [])
    return decisions, dumps_result(decisions[-1])


def dumps_result(decision):
    assert type(decision.outcome) is Finish, decision
    return decision.outcome.result


def test_a_failure_is_not_retried_by_default():
    decisions, result = run(3, False, [['fail', 'ok']])
    assert result == dumps(['error: task-0-0 failed: failed task-0-0'])
    assert [call.key for d in decisions for call in d.calls] == ['task-0-0']


def test_a_failure_is_retried_with_retry_failures_after_the_delay():
    decisions, result = run(3, True, [['fail', 'fail', 'ok']])
    assert result == dumps(['task-0-2'])
    calls = [call for d in decisions for call in d.calls]
    assert [(call.key, call.delay) for call in calls] == [
        ('task-0-0', 0), ('task-0-1', 3), ('task-0-2', 3)]


def test_the_last_failure_is_the_error_when_attempts_run_out():
    _, result = run(2, True, [['fail', 'fail']])
    assert result == dumps(['error: task-0-1 failed: failed task-0-1'])  # the last one


def test_timeouts_and_failures_mix_when_failures_are_retried():
    _, result = run(3, True, [['timeout', 'fail', 'timeout']])
    assert result == dumps(['timeout: task-0 timed out on all 3 attempts: START_TO_CLOSE '
                            'timeout'])


@pytest.mark.parametrize('retry_failures', [False, True])
def test_an_uncaught_retried_failure_fails_the_workflow(retry_failures):
    class Unprotected:
        def __init__(self, task):
            self.task = task

        def __call__(self):
            return self.task()

    workflow = WorkflowConfig(Unprotected)
    workflow._add_task(TaskSpec('task', ACTIVITY, None, retry=(0, 0),
                                retry_failures=retry_failures))
    history = History()
    input_data = dumps([[], {}])
    history.scheduled('task-0-0', 0)
    history.failed('task-0-0', 'first')
    decision = replay(workflow, input_data, history)
    if not retry_failures:
        assert decision.outcome == Fail('task-0-0 failed: first')
        return
    assert [call.key for call in decision.calls] == ['task-0-1']
    history.scheduled('task-0-1', 0)
    history.failed('task-0-1', 'second')
    assert replay(workflow, input_data, history).outcome == Fail('task-0-1 failed: second')
