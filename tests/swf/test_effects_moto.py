"""Timers, signals, markers, now(), cancel, terminate and context() on moto's SWF.

A decider (each driver) and an activity worker run in threads on in-process moto with
tests/swf/moto_ext.py; each test starts executions and reads their histories.  moto's
timers are real threads and SWF counts whole seconds: the timers that must fire here
last 1 s, the others an hour (they are cancelled, or the run closes first).  Every wait
is bounded.
"""

import json
import threading
import time

import pytest
from worker_threads import WorkerThreads

import flowy
from flowy import TaskCancelled, first, wait
from flowy.serialization import loads
from flowy.swf.activity import SWFActivityWorker
from flowy.swf.client import SWFClient, error_code
from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig
from flowy.swf.control import SWFExecutions, UnknownExecution
from flowy.swf.decider import SWFWorkflowWorker
from flowy.swf.status import history_events, wait_for_result

DOMAIN = 'flowy-effects'
DECISIONS = 'effect-decisions'
WORK = 'effect-work'
TIMEOUT = 30
HOUR = 3600
BOTH = pytest.mark.parametrize('driver', ['cached', 'replay'])

activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat=300,
                               default_schedule_to_close=600, default_schedule_to_start=300,
                               default_start_to_close=300)
BLOCKER = {'started': threading.Event(), 'stopped': threading.Event()}


def square(n):
    return n * n


def blocker():
    """Heartbeats until SWF asks it to stop (at most TIMEOUT seconds)."""
    BLOCKER['started'].set()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if flowy.heartbeat():
            BLOCKER['stopped'].set()
            raise RuntimeError('stopped on request')
        time.sleep(0.01)
    return 'never cancelled'


def whoami():
    context = flowy.context()
    return [context.workflow, context.workflow_id, context.run_id, context.key, context.attempt]


workflows = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=HOUR,
                              default_decision_duration=60, default_child_policy='TERMINATE')
for _name in ('square', 'blocker', 'whoami'):
    workflows.conf_activity(_name, version='1')
workflows.conf_workflow('child', version='1', name='Waiter')


class Base:
    def __init__(self, square, blocker, whoami, child):
        self.square = square
        self.blocker = blocker
        self.whoami = whoami
        self.child = child


class Approval(Base):
    """Wait for an 'approve' signal for ``deadline`` seconds; cancel the loser."""

    def __call__(self, deadline):
        approval = flowy.wait_signal('approve')
        timer = flowy.sleep(deadline)
        answer = wait(first(approval, timer))
        if answer is None:
            return 'expired'
        flowy.cancel(timer)
        return answer


class Clock(Base):
    """now() before and after a task, and a marker; the result shows what it saw."""

    def __call__(self):
        before = flowy.now().timestamp()
        flowy.marker('seen', {'before': before})
        after = flowy.now().timestamp()
        wait(self.square(2))
        later = flowy.now().timestamp()
        return [before, after, later]


class CancelRunning(Base):
    """Cancel an activity that runs (after another finished): TaskCancelled."""

    def __call__(self):
        running = self.blocker()
        wait(self.square(1))
        flowy.cancel(running)
        try:
            return wait(running)
        except TaskCancelled as exc:
            return 'cancelled: %s' % exc


class CancelUnstarted(Base):
    """Cancel a call in the decision that makes it: it never starts."""

    def __call__(self):
        result = self.square(3)
        flowy.cancel(result)
        waiting = self.square(result)  # waits for its argument: never starts either
        flowy.cancel(waiting)
        try:
            wait(result)
        except TaskCancelled:
            return 'never started'


class CancelTimer(Base):
    def __call__(self):
        timer = flowy.sleep(HOUR)
        wait(self.square(1))
        flowy.cancel(timer)
        try:
            wait(timer)
        except TaskCancelled:
            return 'timer cancelled'


class Waiter(Base):
    """A run that waits for a signal and runs a blocker: for cancel and terminate."""

    def __call__(self, block=False):
        if block:
            self.blocker()
        return wait(flowy.wait_signal('go'))


class CancelChild(Base):
    """Cancel a running child workflow from the body, or see it cancelled from outside."""

    def __call__(self, by_body):
        child = self.child()
        wait(self.square(1))
        if by_body:
            flowy.cancel(child)
        try:
            return wait(child)
        except TaskCancelled as exc:
            return 'child cancelled: %s' % type(exc).__name__


class Context(Base):
    def __call__(self):
        context = flowy.context()
        return [[context.workflow, context.workflow_id, context.run_id], self.whoami()]


FLOWS = (Approval, Clock, CancelRunning, CancelUnstarted, CancelTimer, Waiter, CancelChild,
         Context)


class Workers(WorkerThreads):
    """A decider and an activity worker in threads on one client; stopped on exit."""

    def __init__(self, client, driver='cached'):
        self.client = SWFClient(client=client)
        try:
            self.client.register_domain(DOMAIN)
        except Exception as exc:
            if error_code(exc) != 'DomainAlreadyExistsFault':
                raise
        self.decider = SWFWorkflowWorker(driver=driver)
        for factory in FLOWS:
            self.decider.register(workflows, factory, '1')
        # two activity workers: one may be held by the blocker
        self.activity_workers = [SWFActivityWorker(), SWFActivityWorker()]
        for worker in self.activity_workers:
            for function in (square, blocker, whoami):
                worker.register(activities, function, '1')
        self.decider.register_remote(self.client, DOMAIN)
        self.activity_workers[0].register_remote(self.client, DOMAIN)
        self.runs = SWFExecutions(DOMAIN, self.client)
        self.threads = [
            threading.Thread(target=worker.run_forever, args=(DOMAIN, task_list),
                             kwargs=dict(swf_client=self.client, setup_log=False,
                                         register_remote=False, identity=name), daemon=True)
            for worker, task_list, name in [(self.decider, DECISIONS, 'decider')] + [
                (worker, WORK, 'activities-%d' % number)
                for number, worker in enumerate(self.activity_workers)]]
        self.workers = [self.decider] + self.activity_workers
        BLOCKER['started'].clear()
        BLOCKER['stopped'].clear()


    def start(self, name, *args):
        workflow = self.decider.registry[(name, '1')]
        workflow_id = '%s-%d' % (name, time.monotonic_ns())
        response = self.client.start_workflow_execution(
            DOMAIN, workflow_id, name, '1', input=workflow._encode_input(list(args), {}))
        return workflow_id, response['runId']

    def history(self, workflow_id, run_id):
        return history_events(self.client, DOMAIN, workflow_id, run_id)

    def kinds(self, run):
        return [event['eventType'] for event in self.history(*run)]

    def wait_for(self, run, event_type):
        wait_until(lambda: event_type in self.kinds(run), what=event_type)

    def outcome(self, run):
        def closed():
            info = self.client.describe_workflow_execution(DOMAIN, *run)
            return info['executionInfo']['executionStatus'] == 'CLOSED'

        wait_until(closed, what='%s/%s to close' % run)
        return self.history(*run)[-1]

    def result(self, run):
        event = self.outcome(run)
        assert event['eventType'] == 'WorkflowExecutionCompleted', event
        return loads(event['workflowExecutionCompletedEventAttributes']['result'])


def wait_until(condition, timeout=TIMEOUT, what='a condition'):
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('waited %s s for %s' % (timeout, what))
        pause.wait(0.02)


def attributes(event):
    return next(value for key, value in event.items() if key.endswith('EventAttributes'))


def check_clean(workers):
    stats = workers.decider.stats
    assert stats['failed'] == stats['unanswered'] == 0, stats


# -- signals and timers ------------------------------------------------------------------------

@BOTH
def test_an_approval_signal_wins_over_its_deadline(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('Approval', HOUR)
        workers.wait_for(run, 'TimerStarted')
        workers.runs.signal(run[0], 'approve', {'by': 'ann'})
        assert workers.result(run) == {'by': 'ann'}
        kinds = workers.kinds(run)
    # the run closed at once: its cancel of the timer went with the rest of the body's
    # calls of that decision, and SWF drops the timers of a closed run
    assert 'TimerFired' not in kinds and kinds[-1] == 'WorkflowExecutionCompleted'
    check_clean(workers)


@BOTH
def test_an_approval_deadline_wins_without_a_signal(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('Approval', 0.2)  # whole seconds on SWF: 1 s
        assert workers.result(run) == 'expired'
        started = next(event for event in workers.history(*run)
                       if event['eventType'] == 'TimerStarted')
    assert attributes(started)['timerId'] == '@sleep-0'
    assert attributes(started)['startToFireTimeout'] == '1'
    check_clean(workers)


def test_a_signal_sent_before_the_body_waits_is_kept(swf_client):
    with Workers(swf_client, 'replay') as workers:
        run = workers.start('Approval', HOUR)
        workers.runs.signal(run[0], 'approve', 'early', run_id=run[1])
        assert workers.result(run) == 'early'


# -- now() and markers -------------------------------------------------------------------------

@BOTH
def test_now_is_the_decision_time_on_every_replay(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('Clock')
        before, after, later = workers.result(run)
        events = workers.history(*run)
    markers = [attributes(event) for event in events if event['eventType'] == 'MarkerRecorded']
    assert [marker['markerName'] for marker in markers] == ['now', 'seen', 'now', 'now']
    recorded = [json.loads(marker['details']) for marker in markers]
    assert [item['key'] for item in recorded] == ['@now-0', '@marker-0', '@now-1', '@now-2']
    assert before == loads(recorded[0]['value']) == after == loads(recorded[2]['value'])
    assert loads(recorded[1]['value']) == {'before': before}
    assert later == loads(recorded[3]['value']) >= before
    started = [event['eventTimestamp'] for event in events
               if event['eventType'] == 'DecisionTaskStarted']
    assert before == started[0].timestamp() and later == started[-1].timestamp()
    # the decision that closed the run recorded its now() before closing
    closing = [event['eventType'] for event in events[-3:]]
    assert closing == ['DecisionTaskCompleted', 'MarkerRecorded', 'WorkflowExecutionCompleted']
    # the replay of the whole history gives the same times, long after they were taken
    decision = workers.decider.check_history(events)
    assert loads(decision.outcome.result) == [before, after, later]


# -- cancel ------------------------------------------------------------------------------------

@BOTH
def test_cancel_a_running_activity(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('CancelRunning')
        assert workers.result(run) == 'cancelled: blocker-0 was cancelled'
        assert BLOCKER['stopped'].wait(TIMEOUT)  # its heartbeat said so
        kinds = workers.kinds(run)
    assert 'ActivityTaskCancelRequested' in kinds
    check_clean(workers)


@BOTH
def test_cancel_a_call_before_it_starts(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('CancelUnstarted')
        assert workers.result(run) == 'never started'
        events = workers.history(*run)
    assert not any(event['eventType'] == 'ActivityTaskScheduled' for event in events)
    markers = [attributes(event) for event in events if event['eventType'] == 'MarkerRecorded']
    assert {marker['markerName'] for marker in markers} == {'flowy.cancelled'}
    assert sorted(json.loads(marker['details'])['key'] for marker in markers) == [
        'square-0-0', 'square-1-0']
    check_clean(workers)


@BOTH
def test_cancel_a_timer(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('CancelTimer')
        assert workers.result(run) == 'timer cancelled'
        assert 'TimerCanceled' in workers.kinds(run)
    check_clean(workers)


@BOTH
def test_cancel_a_child_workflow_from_the_body(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('CancelChild', True)
        assert workers.result(run) == 'child cancelled: TaskCancelled'
        kinds = workers.kinds(run)
        child = (run[0] + '.child-0-0', None)
        child_run = workers.client.client.list_closed_workflow_executions(
            domain=DOMAIN, startTimeFilter={'oldestDate': 0})['executionInfos']
    assert 'RequestCancelExternalWorkflowExecutionInitiated' in kinds
    closed = {info['execution']['workflowId']: info['closeStatus'] for info in child_run}
    assert closed[child[0]] == 'CANCELED'
    check_clean(workers)


def test_a_child_cancelled_from_outside_is_task_cancelled_to_its_parent(swf_client):
    with Workers(swf_client) as workers:
        run = workers.start('CancelChild', False)
        workers.wait_for(run, 'ChildWorkflowExecutionStarted')
        workers.runs.cancel(run[0] + '.child-0-0')
        assert workers.result(run) == 'child cancelled: TaskCancelled'
        assert 'ChildWorkflowExecutionCanceled' in workers.kinds(run)
    check_clean(workers)


# -- whole runs --------------------------------------------------------------------------------

@BOTH
def test_cancel_a_whole_run_cancels_what_it_runs(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('Waiter', True)
        assert BLOCKER['started'].wait(TIMEOUT)
        workers.runs.cancel(run[0])
        outcome = workers.outcome(run)
        assert outcome['eventType'] == 'WorkflowExecutionCanceled'
        assert 'cancelled on request' in attributes(outcome)['details']
        assert BLOCKER['stopped'].wait(TIMEOUT)
        kinds = workers.kinds(run)
        with pytest.raises(TaskCancelled, match='was canceled'):
            wait_for_result(workers.client, DOMAIN, *run, timeout=TIMEOUT)
    assert 'ActivityTaskCancelRequested' in kinds
    check_clean(workers)


def test_terminate_ends_a_run_at_once(swf_client):
    with Workers(swf_client) as workers:
        run = workers.start('Waiter')
        workers.wait_for(run, 'DecisionTaskCompleted')
        workers.runs.terminate(run[0], reason='stuck')
        outcome = workers.outcome(run)
    assert outcome['eventType'] == 'WorkflowExecutionTerminated'
    assert attributes(outcome)['reason'] == 'stuck'


def test_signal_and_cancel_refuse_unknown_and_closed_runs(swf_client):
    with Workers(swf_client) as workers:
        with pytest.raises(UnknownExecution, match='no open execution'):
            workers.runs.signal('nobody', 'go')
        run = workers.start('Waiter')
        workers.runs.signal(run[0], 'go', 5)
        assert workers.result(run) == 5
        with pytest.raises(UnknownExecution, match=run[0]):
            workers.runs.signal(run[0], 'go', 6)
        with pytest.raises(UnknownExecution):
            workers.runs.cancel(run[0])
        with pytest.raises(UnknownExecution):
            workers.runs.terminate(run[0])


# -- context -----------------------------------------------------------------------------------

@BOTH
def test_context_in_a_body_and_in_an_activity(swf_client, driver):
    with Workers(swf_client, driver) as workers:
        run = workers.start('Context')
        body, activity = workers.result(run)
    assert body == ['Context', run[0], run[1]]
    assert activity == ['Context', run[0], run[1], 'whoami-0-0', 0]
