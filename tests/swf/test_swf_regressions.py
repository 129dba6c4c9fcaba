"""The original flowy's SWF bugs (flowy-original.md section 5), one test each.

The numbers are those of that list.  Most behaviours are tested at length elsewhere;
here each bug has one test that would fail if it came back.
"""

import threading

import pytest
from swf_events import EventLog

from flowy.swf.activity import SWFActivityWorker
from flowy.swf.client import SWFClient
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.decider import SWFWorkflowWorker
from flowy.swf.decisions import CALL_LIMIT
from flowy.swf.history import ExecutionHistory
from flowy.swf.starter import SWFWorkflowStarter
from flowy.swf.types import TaskType
from flowy.swf.worker import Worker


class Recorder:
    """A stand-in for boto3's SWF client that records the requests it gets."""

    def __init__(self, responses=None):
        self.requests = []
        self.responses = responses or {}

    def __getattr__(self, operation):
        def call(**request):
            self.requests.append((operation, request))
            return self.responses.get(operation, {})
        return call


def square(n):
    return n * n


# -- 9: rate_limit=None crashed every decision ----------------------------------------------

def test_bug09_rate_limit_none_means_no_limit_of_flowys_own():
    class Fan:
        def __init__(self, square):
            self.square = square

        def __call__(self, n):
            return [self.square(i) for i in range(n)]

    flows = SWFWorkflowConfig(rate_limit=None)
    flows.conf_activity('square', '1')
    assert flows.bind(Fan, '1').limit == CALL_LIMIT
    with pytest.raises(ValueError, match='rate_limit'):
        SWFWorkflowConfig(rate_limit=0)


# -- 10: the starter crossed the durations and misspelled lambdaRole --------------------------

def test_bug10_starter_sends_each_duration_and_the_role_under_its_own_name():
    client = Recorder({'start_workflow_execution': {'runId': 'run-1'}})
    start = SWFWorkflowStarter('d', 'Flow', '1', swf_client=SWFClient(client=client),
                               task_duration=30, workflow_duration=3600, lambda_role='arn-ish',
                               tags=['b', 'a', 'c'], wid='w-1')
    assert start(5) == 'run-1'
    (operation, request), = client.requests
    assert operation == 'start_workflow_execution'
    assert request['taskStartToCloseTimeout'] == '30'
    assert request['executionStartToCloseTimeout'] == '3600'
    assert request['lambdaRole'] == 'arn-ish' and 'lambda_role' not in request
    assert request['tagList'] == ['b', 'a', 'c']  # in order, not through a set


# -- 11 and 12: a too-large result also completed; fail reasons were not cut -------------------

class Token:
    """Enough of an activity task for SWFActivityWorker.handle."""

    @staticmethod
    def task(name, text):
        return {'taskToken': 't-1', 'activityId': name + '-0-0', 'input': text,
                'activityType': {'name': name, 'version': '1'},
                'workflowExecution': {'workflowId': 'w', 'runId': 'r'}}


def handled(func, text='[[], {}]'):
    client = Recorder()
    worker = SWFActivityWorker()
    worker.register(SWFActivityConfig(), func, '1')
    worker.handle(SWFClient(client=client), Token.task(func.__name__, text))
    return client.requests


def test_bug11_a_too_large_result_fails_the_task_and_nothing_else():
    def big():
        return 'x' * 40000

    (operation, request), = handled(big)
    assert operation == 'respond_activity_task_failed'
    assert '40002 characters' in request['reason']


def test_bug12_activity_failure_reasons_are_cut_to_256():
    def fails():
        raise ValueError('y' * 1000)

    (operation, request), = handled(fails)
    assert operation == 'respond_activity_task_failed'
    assert request['reason'] == 'y' * 256


# -- 14: repr of a worker with several registrations --------------------------------------------

def test_bug14_repr_of_a_worker_with_several_types():
    worker = SWFActivityWorker()
    for name in ('b', 'a', 'c'):
        worker.register(SWFActivityConfig(), square, '1', name=name)
    assert repr(worker) == '<SWFActivityWorker a:1, b:1, c:1>'


# -- 15: durations: 'none' passed lowercase, floats passed as text -----------------------------

def test_bug15_durations_are_whole_seconds_or_none_in_any_case():
    assert TaskType('activity', 'a', '1', heartbeat='none').heartbeat == 'NONE'
    for bad in (1.5, 0, -3, '10', True):
        with pytest.raises(ValueError, match='heartbeat'):
            TaskType('activity', 'a', '1', heartbeat=bad)


# -- 17: cancelled or terminated tasks, refused timers stayed "running" for ever ----------------

@pytest.mark.parametrize('end', ['activity_canceled', 'child_canceled', 'child_terminated',
                                 'start_timer_failed'])
def test_bug17_every_way_a_task_ends_is_an_outcome(end):
    log = EventLog()
    log.workflow_started()
    completed = log.decision_round()
    if end == 'activity_canceled':
        scheduled = log.activity_scheduled('square-0-0', completed, position=0)
        log.activity_canceled(scheduled)
        key = 'square-0-0'
    elif end == 'start_timer_failed':
        log.add('StartTimerFailed', timerId='square-0-1.retry',
                cause='OPERATION_NOT_PERMITTED', decisionTaskCompletedEventId=completed)
        key = 'square-0-1'
    else:
        initiated = log.child_initiated('sub-0-0', completed, 'w-1.sub-0-0', position=0)
        log.child_started(initiated)
        getattr(log, end)(initiated)
        key = 'sub-0-0'
    execution = ExecutionHistory('w-1')
    execution.feed(log.events)
    outcome = execution.history.get(key)
    # a cancelled task is cancelled (the body sees TaskCancelled), the others failed
    assert outcome is not None and outcome.state == (
        'cancelled' if end.endswith('canceled') else 'failed')


# -- 23: polls retried for ever without a pause ------------------------------------------------

def test_bug23_failed_polls_are_retried_after_a_growing_pause():
    pauses = []

    class Failing(Worker):
        def poll(self, client, domain, task_list, identity):
            raise ConnectionError('no network')

    worker = Failing()
    worker.poll_retry_first, worker.poll_retry_max = 1.0, 8.0
    real_wait = worker._stop.wait

    def wait(pause):
        pauses.append(pause)
        if len(pauses) == 6:
            worker.stop()
        return real_wait(0)

    worker._stop.wait = wait
    worker._loop(None, 'd', 'tl', 'me')
    assert len(pauses) == 6
    # doubling from 1 s to at most 8 s, with jitter of up to a half
    for index, pause in enumerate(pauses):
        ceiling = min(8.0, 2.0 ** index)
        assert ceiling / 2 <= pause <= ceiling


def test_bug23_a_worker_stops_from_another_thread():
    worker = SWFWorkflowWorker()
    polled = threading.Event()

    def poll(client, domain, task_list, identity):
        polled.set()
        return None

    worker.poll = poll
    thread = threading.Thread(target=worker.run_forever, args=('d', 'tl'),
                              kwargs={'swf_client': object(), 'register_remote': False,
                                      'setup_log': False})
    thread.start()
    assert polled.wait(10)
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
