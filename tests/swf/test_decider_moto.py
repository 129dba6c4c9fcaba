"""SWFWorkflowWorker against moto's SWF (in-process, with tests/swf/moto_ext.py): Tier 1.

A decider and an activity worker (flowy's SWFActivityWorker) run in threads on one
boto3 client; each test starts executions and reads the outcome from their histories.
Every wait is bounded.
"""

import datetime
import threading
import time

import pytest
from worker_threads import WorkerThreads

from flowy import parallel_reduce, restart, wait
from flowy.serialization import loads
from flowy.swf.activity import SWFActivityWorker
from flowy.swf.client import SWFClient, error_code
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.decider import SWFWorkflowWorker
from flowy.swf.status import history_events

DOMAIN = 'flowy-tests'
DECISIONS = 'decisions'
WORK = 'work'
TIMEOUT = 30  # seconds any one test may wait for its executions

activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat=300,
                               default_schedule_to_close=600, default_schedule_to_start=300,
                               default_start_to_close=300)
SLOW = {'entered': threading.Event(), 'release': threading.Event(), 'calls': 0}


def square(n):
    return n * n


def add(a, b):
    return a + b


def slow(n):
    """The first call hangs until the test releases it (after its attempt timed out)."""
    SLOW['calls'] += 1
    if SLOW['calls'] == 1:
        SLOW['entered'].set()
        SLOW['release'].wait(TIMEOUT)
    return n + 100


workflows = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=3600,
                              default_decision_duration=60, default_child_policy='TERMINATE')
workflows.conf_activity('square', version='1')
workflows.conf_activity('add', version='1')
workflows.conf_activity('slow', version='1', start_to_close=5, retry=(0, 1))
workflows.conf_workflow('child', version='1', name='SumSquares')


class SumSquares:
    def __init__(self, square, add, slow, child):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


class Parent:
    def __init__(self, square, add, slow, child):
        self.square = square
        self.child = child

    def __call__(self, n):
        return [self.child(n), self.square(wait(self.child(n + 1)))]


class Countdown:
    def __init__(self, square, add, slow, child):
        self.square = square

    def __call__(self, n, total=0):
        total = total + wait(self.square(n))
        if n > 1:
            return restart(n - 1, total=total)
        return total


class InOrder:
    def __init__(self, square, add, slow, child):
        self.square = square

    def __call__(self, n):
        # every answer after the first schedules nothing: it may wait for any backlog
        return sum(wait(result) for result in [self.square(i) for i in range(n)])


class Patient:
    def __init__(self, square, add, slow, child):
        self.slow = slow
        self.square = square

    def __call__(self, n):
        return self.square(self.slow(n))


class Workers(WorkerThreads):
    """A decider and an activity worker in threads on one client; stopped on exit."""

    def __init__(self, client, driver='cached', decisions=DECISIONS, work=WORK,
                 activity_worker=True, decider_client=None, **options):
        self.client = SWFClient(client=client)
        try:
            self.client.register_domain(DOMAIN)
        except Exception as exc:
            if error_code(exc) != 'DomainAlreadyExistsFault':
                raise
        self.decider = SWFWorkflowWorker(driver=driver, **options)
        for factory in (SumSquares, Parent, Countdown, Patient, InOrder):
            self.decider.register(workflows, factory, '1')
        self.activities = SWFActivityWorker()
        for function in (square, add, slow):
            self.activities.register(activities, function, '1')
        self.decider.register_remote(self.client, DOMAIN)
        self.activities.register_remote(self.client, DOMAIN)
        workers = [(self.decider, decisions, 'decider', decider_client or self.client)]
        if activity_worker:
            workers.append((self.activities, work, 'activities', self.client))
        self.threads = [
            threading.Thread(target=worker.run_forever, args=(DOMAIN, task_list),
                             kwargs=dict(swf_client=worker_client, setup_log=False,
                                         register_remote=False, identity=name), daemon=True)
            for worker, task_list, name, worker_client in workers]
        self.workers = [self.decider, self.activities]

    def released(self):
        SLOW['release'].set()

    def start(self, name, *args, task_list=None):
        workflow = self.decider.registry[(name, '1')]
        workflow_id = '%s-%d' % (name, time.monotonic_ns())
        response = self.client.start_workflow_execution(
            DOMAIN, workflow_id, name, '1', input=workflow._encode_input(list(args), {}),
            task_list=task_list)
        return workflow_id, response['runId']

    def history(self, workflow_id, run_id):
        return history_events(self.client, DOMAIN, workflow_id, run_id)

    def outcome(self, workflow_id, run_id, timeout=TIMEOUT):
        """The closing event of the run, once it closed (waits at most ``timeout``)."""
        def closed():
            info = self.client.describe_workflow_execution(DOMAIN, workflow_id, run_id)
            return info['executionInfo']['executionStatus'] == 'CLOSED'

        wait_until(closed, timeout, '%s/%s to close' % (workflow_id, run_id))
        return self.history(workflow_id, run_id)[-1]

    def result(self, workflow_id, run_id, timeout=TIMEOUT):
        """The result of the workflow, following continue-as-new to the last run."""
        for _ in range(100):
            event = self.outcome(workflow_id, run_id, timeout)
            kind = event['eventType']
            if kind == 'WorkflowExecutionContinuedAsNew':
                run_id = event['workflowExecutionContinuedAsNewEventAttributes'][
                    'newExecutionRunId']
                continue
            assert kind == 'WorkflowExecutionCompleted', event
            return loads(event['workflowExecutionCompletedEventAttributes']['result'])
        raise AssertionError('too many runs')  # pragma: no cover


def wait_until(condition, timeout=TIMEOUT, what='a condition'):
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('waited %s s for %s' % (timeout, what))
        pause.wait(0.02)


@pytest.fixture
def fresh_slow():
    SLOW['entered'].clear()
    SLOW['release'].clear()
    SLOW['calls'] = 0
    yield
    SLOW['release'].set()


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_fan_out_and_reduce(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        runs = [workers.start('SumSquares', n) for n in (1, 5, 9)]
        assert [workers.result(*run) for run in runs] == [0, 30, 204]
    stats = workers.decider.stats
    assert stats['failed'] == stats['unanswered'] == 0
    assert stats['responses'] == stats['decision_tasks']
    if driver == 'cached':
        assert stats['replays'] == 3 and stats['cached'] == stats['decision_tasks'] - 3
    else:
        assert stats['replays'] == stats['decision_tasks']


def test_a_decider_holds_answers_while_the_activity_worker_is_behind(swf_client):
    # one activity worker, 200 squares (64 a decision): the decider's answers wait (sent
    # from its own thread while it goes on polling), and the run still completes.  (The
    # worker cannot run them all while the decider's empty poll waits its 20 ms.)
    with Workers(swf_client, batch_wait=0.2) as workers:
        run = workers.start('InOrder', 200)
        assert workers.result(*run) == sum(i * i for i in range(200))
    stats = workers.decider.stats
    assert workers.decider.held_answers > 0
    assert stats['failed'] == stats['unanswered'] == 0
    assert stats['responses'] == stats['decision_tasks']


def test_long_histories_are_paged_and_the_cache_reads_only_new_events(swf_client):
    import moto_ext

    moto_ext.set_page_size(4)
    with Workers(swf_client, page_size=4) as workers:
        run = workers.start('SumSquares', 12)
        assert workers.result(*run) == sum(i * i for i in range(12))
        events = len(workers.history(*run))
    stats = workers.decider.stats
    assert stats['pages'] > 0 and stats['replays'] == 1
    assert stats['cached'] == stats['decision_tasks'] - 1
    # each task reads what is new (plus one page reaching back), not the whole history
    assert stats['events'] <= events + 4 * stats['decision_tasks']


def test_child_workflows(swf_client):
    with Workers(swf_client) as workers:
        workflow_id, run_id = workers.start('Parent', 3)
        assert workers.result(workflow_id, run_id) == [0 + 1 + 4, (0 + 1 + 4 + 9) ** 2]
        started = [event for event in workers.history(workflow_id, run_id)
                   if event['eventType'] == 'StartChildWorkflowExecutionInitiated']
    assert [event['startChildWorkflowExecutionInitiatedEventAttributes']['workflowId']
            for event in started] == ['%s.child-0-0' % workflow_id, '%s.child-1-0' % workflow_id]


def test_restart_continues_as_new(swf_client):
    with Workers(swf_client) as workers:
        workflow_id, run_id = workers.start('Countdown', 4)
        assert workers.result(workflow_id, run_id) == 16 + 9 + 4 + 1
        assert workers.outcome(workflow_id, run_id)['eventType'] == (
            'WorkflowExecutionContinuedAsNew')
    assert workers.decider.stats['replays'] == 4  # one per run


def test_an_attempt_that_timed_out_is_retried(swf_client, swf_clock, fresh_slow):
    with Workers(swf_client) as workers:
        workflow_id, run_id = workers.start('Patient', 2)
        assert SLOW['entered'].wait(TIMEOUT), 'the first attempt never started'
        swf_clock(10)  # past its start-to-close timeout of 5 s
        wait_until(lambda: any(event['eventType'] == 'ActivityTaskTimedOut'
                               for event in workers.history(workflow_id, run_id)),
                   what='the attempt to time out')
        SLOW['release'].set()  # its late answer is dropped (UnknownResourceFault)
        outcome = workers.outcome(workflow_id, run_id)
        assert outcome['eventType'] == 'WorkflowExecutionCompleted'
        assert loads(outcome['workflowExecutionCompletedEventAttributes']['result']) == (
            102 ** 2)
        kinds = [event['eventType'] for event in workers.history(workflow_id, run_id)]
    assert 'ActivityTaskTimedOut' in kinds and 'TimerFired' in kinds
    assert SLOW['calls'] == 2


def test_a_task_list_override_keeps_everything_on_one_list(swf_client):
    private = 'private-1'
    with Workers(swf_client, decisions=private, work=private,
                 task_list_override=private) as workers:
        run = workers.start('Parent', 2, task_list=private)
        assert workers.result(*run) == [1, 25]
        lists = {event[key]['taskList']['name'] for event in workers.history(*run)
                 for key in event if key.endswith('EventAttributes') and 'taskList' in event[key]}
    assert lists == {private}


def test_a_new_decider_takes_over_from_the_history(swf_client):
    with Workers(swf_client, activity_worker=False) as first_decider:
        run = first_decider.start('SumSquares', 6)
        wait_until(lambda: first_decider.decider.stats['responses'] == 1,
                   what='the first decision')
    assert first_decider.decider.stats['decision_tasks'] == 1
    with Workers(swf_client) as workers:  # a new process, say: nothing cached
        assert workers.result(*run) == 55
    stats = workers.decider.stats
    assert stats['replays'] == 1 and stats['cached'] == stats['decision_tasks'] - 1


class SignalsBeforeClosing(SWFClient):
    """Signals the execution just before the decider's first close decision reaches SWF."""

    def __init__(self, client):
        super().__init__(client=client)
        self.signalled = []

    def respond_decision_task_completed(self, task_token, decisions=None,
                                        execution_context=None):
        closing = decisions and decisions[-1]['decisionType'] == 'CompleteWorkflowExecution'
        if closing and not self.signalled:
            for workflow_id in self.open_runs():
                self.client.signal_workflow_execution(domain=DOMAIN, workflowId=workflow_id,
                                                      signalName='poke', input='')
                self.signalled.append(workflow_id)
        return super().respond_decision_task_completed(task_token, decisions,
                                                       execution_context)

    def open_runs(self):
        infos = self.client.list_open_workflow_executions(
            domain=DOMAIN, startTimeFilter={'oldestDate': 0})['executionInfos']
        return [info['execution']['workflowId'] for info in infos]


def test_a_close_decision_refused_as_unhandled_is_decided_again(swf_client):
    signalling = SignalsBeforeClosing(swf_client)
    with Workers(swf_client, decider_client=signalling) as workers:
        run = workers.start('SumSquares', 4)
        assert workers.result(*run) == 0 + 1 + 4 + 9
        kinds = [event['eventType'] for event in workers.history(*run)]
    assert signalling.signalled == [run[0]]
    assert kinds.count('CompleteWorkflowExecutionFailed') == 1
    failed = kinds.index('CompleteWorkflowExecutionFailed')
    assert 'WorkflowExecutionSignaled' in kinds[:failed]
    assert kinds[-1] == 'WorkflowExecutionCompleted'
    assert workers.decider.stats['failed'] == 0


def test_a_decider_client_that_leaves_timestamps_as_sent(swf_client):
    # what run_forever makes for a decider given no client: it reads the many history
    # events with json.loads, timestamps as sent (the numbers of SWF's JSON)
    assert SWFWorkflowWorker.client_options == {'parse_timestamps': False,
                                                'json_histories': True, 'validate': False}
    raw = SWFClient(kwargs={'region_name': 'us-east-1'}, **SWFWorkflowWorker.client_options)
    with Workers(swf_client, decider_client=raw) as workers:
        run = workers.start('SumSquares', 5)
        assert workers.result(*run) == 30
    events = raw.get_workflow_execution_history(DOMAIN, *run)['events']
    assert isinstance(events[0]['eventTimestamp'], (int, float))
    parsed = SWFClient(client=swf_client).get_workflow_execution_history(DOMAIN, *run)
    assert isinstance(parsed['events'][0]['eventTimestamp'], datetime.datetime)
    # botocore's own parser, timestamps left as sent, gives the same events
    botocore_parsed = SWFClient(kwargs={'region_name': 'us-east-1'}, parse_timestamps=False)
    assert botocore_parsed.get_workflow_execution_history(DOMAIN, *run)['events'] == events
    newest = raw.get_workflow_execution_history(DOMAIN, *run, max_page_size=3,
                                                reverse_order=True)
    assert newest['events'] == events[::-1][:3] and newest['nextPageToken']


def test_the_json_reading_leaves_errors_to_botocore(swf_client):
    raw = SWFClient(kwargs={'region_name': 'us-east-1'}, **SWFWorkflowWorker.client_options)
    with pytest.raises(Exception) as caught:
        raw.get_workflow_execution_history('no-such-domain', 'w', 'r')
    assert error_code(caught.value) == 'UnknownResourceFault'


def test_a_fetched_history_passes_the_check_of_the_code_that_made_it(swf_client):
    import moto_ext

    from flowy.decision import Finish

    with Workers(swf_client) as workers:
        run = workers.start('SumSquares', 6)
        assert workers.result(*run) == 55
    moto_ext.set_page_size(7)  # several pages
    try:
        events = history_events(swf_client, DOMAIN, *run)
    finally:
        moto_ext.set_page_size(None)
    assert [event['eventId'] for event in events] == list(range(1, len(events) + 1))
    assert events[-1]['eventType'] == 'WorkflowExecutionCompleted'
    decision = workers.decider.check_history(events)
    assert type(decision.outcome) is Finish and loads(decision.outcome.result) == 55
