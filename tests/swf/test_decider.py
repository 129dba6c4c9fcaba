"""flowy.swf.decider: the SWF decider against a scripted stand-in for SWF's API (Tier 0).

:class:`StubSWF` serves decision tasks of :class:`swf_events.SimulatedSWF` executions
the way SWF does (pages through ``nextPageToken``, newest first on request,
``startedEventId`` and ``previousStartedEventId``), applies the responses, and can make
polls, pages and responses fail, refuse a close decision with UNHANDLED_DECISION, or
time a decision task out.  Every decision sent is checked against botocore's model.
"""

import collections
import functools
import json
import logging
import random
import threading

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from swf_events import SimulatedSWF, check_decision, pages

from flowy import TaskError, first, parallel_reduce, wait
from flowy.drivers.cached import CachedDriver
from flowy.serialization import loads
from flowy.swf.config import SWFWorkflowConfig
from flowy.swf.decider import STATS, SWFWorkflowWorker
from flowy.swf.decisions import (
    CALL_LIMIT,
    MAX_DECISIONS,
    MAX_REASON,
    WAKE_UP_TIMER_PREFIX,
    cancel_workflow,
    fail_workflow,
)
from flowy.swf.failures import extra_details, full_reason
from flowy.swf.history import MAX_REFUSALS
from flowy.swf.names import backoff_timer_key, retry_timer_key
from flowy.swf.payload import InMemoryPayloadStore, is_reference

DOMAIN = 'test'
DECIDER = 'decider'

# -- a stand-in for SWF's decision task API -----------------------------------------------


def client_error(code, operation, message='scripted'):
    return ClientError({'Error': {'Code': code, 'Message': message}}, operation)


def attributes(decision):
    kind = decision['decisionType']
    return decision.get(kind[0].lower() + kind[1:] + 'DecisionAttributes', {})


CLOSE = {'CompleteWorkflowExecution', 'FailWorkflowExecution', 'CancelWorkflowExecution',
         'ContinueAsNewWorkflowExecution'}


class StubSWF:
    """SWF's PollForDecisionTask and RespondDecisionTaskCompleted over SimulatedSWF runs.

    Decision tasks are served from the executions in ``sims`` in turn (round robin).
    Scripted faults: ``poll_errors`` polls fail; ``page_errors`` page requests fail;
    ``respond_faults`` maps a task number (from 1) to ``'refused'`` (an error, nothing
    applied, the task times out), ``'lost'`` (applied, then an error) or ``'unknown'``
    (UnknownResourceFault, the task times out); ``unhandled`` close decisions fail with
    UNHANDLED_DECISION (a signal came in meanwhile).
    """

    def __init__(self, *sims, page_size=None):
        for number, sim in enumerate(sims):
            sim.run_id = 'run-%d' % number
        self.sims = list(sims)
        self.page_size = page_size
        self.calls = []  # (operation, arguments)
        self.tasks = {}  # token -> (sim, page list)
        self.current = {}  # sim index -> token of its open task
        self.previous = {}  # sim index -> startedEventId of its last task
        self.poll_errors = 0
        self.page_errors = 0
        self.respond_faults = {}
        self.unhandled = 0
        self.served = 0
        self.next_sim = 0
        self.idle = threading.Event()
        self.stop_when_done = None  # a worker to stop once every run closed
        self.on_respond = None  # called with (sim, decisions) after a response is applied

    @property
    def done(self):
        return all(sim.closed for sim in self.sims)

    def responses(self, sim=None):
        return (sim or self.sims[0]).responses

    # PollForDecisionTask

    def poll_for_decision_task(self, domain, task_list, identity=None, next_page_token=None,
                               max_page_size=None, reverse_order=False):
        self.calls.append(('poll', dict(domain=domain, task_list=task_list,
                                        next_page_token=next_page_token,
                                        reverse_order=reverse_order)))
        if next_page_token is not None:
            if self.page_errors:
                self.page_errors -= 1
                raise client_error('ThrottlingException', 'PollForDecisionTask')
            token, page = next_page_token.rsplit('|', 1)
            return self._page(token, int(page))
        if self.poll_errors:
            self.poll_errors -= 1
            raise ConnectionError('scripted poll failure')
        if self.stop_when_done is not None and self.done:
            self.stop_when_done.stop()
        for offset in range(len(self.sims)):
            index = (self.next_sim + offset) % len(self.sims)
            sim = self.sims[index]
            if not sim.closed and sim._scheduled is not None and index not in self.current:
                self.next_sim = index + 1
                return self._start(index, sim, max_page_size, reverse_order)
        self.idle.set()
        return {'startedEventId': 0, 'previousStartedEventId': 0}  # as moto: no taskToken

    def _start(self, index, sim, max_page_size, reverse_order):
        events = sim.poll()
        started = events[-1]['eventId']
        if reverse_order:
            events = events[::-1]
        self.served += 1
        token = 'task-%d' % self.served
        self.tasks[token] = (index, pages(events, max_page_size or self.page_size))
        self.current[index] = token
        started_event = sim.log.events[0]['workflowExecutionStartedEventAttributes']
        response = {
            'taskToken': token,
            'startedEventId': started,
            'workflowExecution': {'workflowId': sim.workflow_id, 'runId': sim.run_id},
            'workflowType': dict(started_event['workflowType']),
        }
        previous = self.previous.get(index, 0)
        if previous:  # moto leaves it out on the first task
            response['previousStartedEventId'] = previous
        self.previous[index] = started
        response.update(self._page(token, 0))
        return response

    def _page(self, token, page):
        parts = self.tasks[token][1]
        response = {'events': parts[page]}
        if page + 1 < len(parts):
            response['nextPageToken'] = '%s|%d' % (token, page + 1)
        return response

    # GetWorkflowExecutionHistory: a whole history, read forward (what the decider does
    # for a run it does not keep, when its first page was small)

    def get_workflow_execution_history(self, domain, workflow_id, run_id,
                                       next_page_token=None, max_page_size=None,
                                       reverse_order=False):
        self.calls.append(('history', dict(domain=domain, workflow_id=workflow_id,
                                           next_page_token=next_page_token)))
        sim = next(sim for sim in self.sims
                   if (sim.workflow_id, sim.run_id) == (workflow_id, run_id))
        assert not reverse_order
        parts = pages(list(sim.log.events), max_page_size or self.page_size)
        page = int(next_page_token or 0)
        response = {'events': parts[page]}
        if page + 1 < len(parts):
            response['nextPageToken'] = str(page + 1)
        return response

    # RespondDecisionTaskCompleted

    def respond_decision_task_completed(self, task_token, decisions=None,
                                        execution_context=None):
        decisions = list(decisions or [])
        self.calls.append(('respond', dict(task_token=task_token, decisions=decisions)))
        index, _ = self.tasks[task_token]
        if self.current.get(index) != task_token:
            raise client_error('UnknownResourceFault', 'RespondDecisionTaskCompleted',
                               'Unknown task token')
        number = int(task_token.split('-')[1])
        fault = self.respond_faults.get(number)
        sim = self.sims[index]
        if fault in ('refused', 'unknown'):
            self.time_out(index)
            code = 'UnknownResourceFault' if fault == 'unknown' else 'InternalFailure'
            raise client_error(code, 'RespondDecisionTaskCompleted')
        del self.current[index]
        for decision in decisions:
            check_decision(decision)
        assert len(decisions) <= MAX_DECISIONS
        closing = [d for d in decisions if d['decisionType'] in CLOSE]
        assert not closing or closing == decisions[-1:], 'a close decision must be last'
        if closing and self.unhandled:
            self.unhandled -= 1
            sim.respond(decisions[:-1])
            sim.responses[-1] = decisions
            kind = closing[0]['decisionType']
            completed = sim.log.last_id
            sim.log.signaled('poke', input='')
            sim.log.add(kind.replace('Execution', 'ExecutionFailed'), cause='UNHANDLED_DECISION',
                        decisionTaskCompletedEventId=completed)
            if not sim.advance():
                sim._scheduled = sim.log.decision_scheduled()
        elif closing and closing[0]['decisionType'] == 'CancelWorkflowExecution':
            sim.respond(decisions[:-1])
            sim.log.add('WorkflowExecutionCanceled', decisionTaskCompletedEventId=sim.log.last_id,
                        details=attributes(closing[0]).get('details'))
            sim.responses[-1] = decisions
            sim.closed = ('CancelWorkflowExecution', attributes(closing[0]))
        else:
            sim.respond(decisions)
            if not sim.closed:
                assert sim.advance(), 'the workflow waits for nothing that runs'
        if self.on_respond is not None:
            self.on_respond(sim, decisions)
        if fault == 'lost':
            raise client_error('InternalFailure', 'RespondDecisionTaskCompleted')

    def time_out(self, index):
        """The open decision task of ``sims[index]`` times out; SWF schedules another."""
        sim = self.sims[index]
        del self.current[index]
        sim.log.decision_timed_out(sim._scheduled, sim._started)
        sim._scheduled = sim.log.decision_scheduled()
        sim._started = None

    def responded(self):
        return [arguments for name, arguments in self.calls if name == 'respond']


def drive(worker, stub, max_tasks=1000):
    """Poll and handle decision tasks until none is left; returns how many were handled.

    Answers held back are sent when nothing else is left (as if their time had come).
    """
    handled = 0
    while handled < max_tasks:
        task = worker.poll(stub, DOMAIN, DECIDER, 'decider-1')
        if task is None:
            if worker.flush():
                continue
            return handled
        worker.handle(stub, task)
        handled += 1
    raise AssertionError('still deciding after %d tasks' % max_tasks)


def run_forever_in_thread(worker, stub, timeout=20):
    """Run ``worker`` until ``stub``'s runs close (it then stops the worker), bounded."""
    stub.stop_when_done = worker
    errors = []

    def target():
        try:
            worker.run_forever(DOMAIN, DECIDER, swf_client=stub, setup_log=False,
                               register_remote=False, identity='decider-1')
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # pragma: no cover - a hang: stop it and fail
        worker.stop()
        thread.join(5)
        raise AssertionError('the decider did not stop within %s s' % timeout)
    assert not errors, errors


def result_of(sim):
    kind, attributes_ = sim.closed
    assert kind == 'CompleteWorkflowExecution', sim.closed
    return loads(attributes_['result'])


def scheduled_ids(sim):
    return [attributes(d)['activityId'] for response in sim.responses for d in response
            if d['decisionType'] == 'ScheduleActivityTask']


# -- workflows ----------------------------------------------------------------------------


def square(x):
    return x * x


def add(a, b):
    return a + b


ACTIVITIES = {'square': square, 'add': add}


class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


class Chain:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        total = 0
        for i in range(n):
            total = self.add(total, self.square(i))
            wait(total)
        return total


class Fanout:
    def __init__(self, square, add):
        self.square = square

    def __call__(self, n):
        return sum(wait(result) for result in [self.square(i) for i in range(n)])


class WithChild:
    def __init__(self, square, sub):
        self.square = square
        self.sub = sub

    def __call__(self, n):
        return self.sub(wait(self.square(n)))


def config(rate_limit=64, retry=(0,)):
    flows = SWFWorkflowConfig(default_task_list=DECIDER, default_workflow_duration=3600,
                              default_decision_duration=10, rate_limit=rate_limit)
    flows.conf_activity('square', version='1', task_list='squares', retry=retry)
    flows.conf_activity('add', version='1')
    return flows


def worker_for(factory, driver='cached', name='Flow', flows=None, **options):
    worker = SWFWorkflowWorker(driver=driver, **options)
    worker.register(flows or config(), factory, '1', name=name)
    return worker


def sim_for(worker, *args, name='Flow', workflow_id='order-7', **options):
    workflow = worker.registry[(name, '1')]
    options.setdefault('activities', ACTIVITIES)
    return SimulatedSWF(workflow._encode_input(list(args), {}), workflow_id=workflow_id,
                        name=name, **options)


DRIVERS = ['cached', 'replay']

# -- the API ------------------------------------------------------------------------------


def test_the_worker_takes_workflow_configs_only():
    worker = SWFWorkflowWorker()
    assert worker.kind == 'workflow' and worker.config_class is SWFWorkflowConfig
    assert isinstance(worker.driver, CachedDriver) and worker.caching
    assert set(worker.stats) == set(STATS)
    assert not SWFWorkflowWorker(driver='replay').caching
    with pytest.raises(ValueError, match='driver'):
        SWFWorkflowWorker(driver='sticky')
    with pytest.raises(ValueError, match='cache_size'):
        SWFWorkflowWorker(cache_size=0)
    with pytest.raises(ValueError, match='page_size'):
        SWFWorkflowWorker(page_size=1001)
    with pytest.raises(ValueError, match='task_list'):
        SWFWorkflowWorker(task_list_override='a:b')


def test_helper_decisions_fit_the_model():
    failing = fail_workflow('x' * 1000, 'how to fix it')
    check_decision(failing)
    fail = attributes(failing)
    assert fail['reason'] == 'x' * MAX_REASON
    assert full_reason(fail['reason'], fail['details']) == 'x' * 1000
    assert extra_details(fail['details']) == 'how to fix it'
    assert len(attributes(fail_workflow('y' * 40000))['details']) <= 32768
    check_decision(cancel_workflow())


def test_an_empty_poll_is_no_task():
    worker = worker_for(SumSquares)
    stub = StubSWF()
    assert worker.poll(stub, DOMAIN, DECIDER, 'me') is None
    assert worker.poll(_EmptyString(), DOMAIN, DECIDER, 'me') is None
    assert worker.stats['polls'] == worker.stats['api_calls'] == 2


class _EmptyString:
    """Real SWF ends an empty long poll with an empty taskToken."""

    def poll_for_decision_task(self, *args, **kwargs):
        return {'taskToken': '', 'startedEventId': 0, 'previousStartedEventId': 0,
                'events': []}


# -- paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize('driver', DRIVERS)
@pytest.mark.parametrize('page_size', [1, 3, None])
def test_every_page_is_read(driver, page_size):
    worker = worker_for(SumSquares, driver)
    worker.page_size = page_size  # None: the decider sizes its pages itself
    sim = sim_for(worker, 6)
    stub = StubSWF(sim, page_size=page_size)
    drive(worker, stub)
    assert result_of(sim) == sum(i * i for i in range(6))
    polls = [arguments for name, arguments in stub.calls if name == 'poll']
    # later pages are polled for with the same arguments plus the token
    assert {(a['domain'], a['task_list'], a['reverse_order']) for a in polls} == {
        (DOMAIN, DECIDER, driver == 'cached')}
    if page_size == 1:
        assert worker.stats['pages'] > 20
    total = worker.stats
    assert total['api_calls'] == total['polls'] + total['pages'] + len(stub.responded())
    assert total['responses'] == total['decision_tasks'] == len(sim.responses)
    assert total['decisions'] == sum(len(r) for r in sim.responses)
    assert total['cpu_time'] > 0


def reference_responses(factory, *args, flows=None, **options):
    """The responses a replay decider without paging sends for the same run."""
    worker = worker_for(factory, 'replay', flows=flows)
    sim = sim_for(worker, *args, **options)
    drive(worker, StubSWF(sim))
    return sim.responses


@pytest.mark.parametrize('page_size', [1, 2, 5])
def test_paged_runs_decide_as_unpaged_ones(page_size):
    expected = reference_responses(Chain, 5)
    for driver in DRIVERS:
        worker = worker_for(Chain, driver)
        sim = sim_for(worker, 5)
        drive(worker, StubSWF(sim, page_size=page_size))
        assert sim.responses == expected


# -- the cache -----------------------------------------------------------------------------


def test_the_cached_path_reads_only_new_events_and_does_not_replay():
    worker = worker_for(Chain, 'cached', page_size=2)
    sim = sim_for(worker, 12)
    stub = StubSWF(sim)
    drive(worker, stub)
    assert result_of(sim) == sum(i * i for i in range(12))
    stats = worker.stats
    assert stats['replays'] == 1 and worker.rebuilds == worker.driver.rebuilds == 1
    assert stats['cached'] == stats['decision_tasks'] - 1 > 20
    # the first task reads the whole history; every later one its new events, plus at
    # most one page that reaches back to events already read
    events = len(sim.log.events)
    assert stats['events'] <= events + 2 * stats['decision_tasks']
    replaying = worker_for(Chain, 'replay', page_size=2)
    other = sim_for(replaying, 12)
    drive(replaying, StubSWF(other))
    assert other.responses == sim.responses
    assert replaying.stats['replays'] == replaying.stats['decision_tasks']
    assert replaying.stats['events'] > 4 * stats['events']
    assert worker.cached_runs == 0 and len(worker.driver) == 0, 'a closed run leaves the cache'


def test_a_task_after_another_deciders_answer_replays():
    """Two deciders take turns: each sees that the other answered in between."""
    first_worker = worker_for(Chain)
    second_worker = worker_for(Chain)
    sim = sim_for(first_worker, 6)
    stub = StubSWF(sim)
    workers = [first_worker, second_worker]
    for turn in range(200):
        worker = workers[turn % 2 if turn < 6 else 0]
        task = worker.poll(stub, DOMAIN, DECIDER, 'decider-%d' % (turn % 2))
        if task is None:
            break
        worker.handle(stub, task)
    assert result_of(sim) == sum(i * i for i in range(6))
    assert sim.responses == reference_responses(Chain, 6)
    assert first_worker.stats['replays'] == 4  # turns 0, 2, 4, and 6 after the other's 5
    assert second_worker.stats['replays'] == 3
    assert first_worker.stats['cached'] > 0


def test_a_previous_started_event_id_that_differs_replays():
    worker = worker_for(Chain)
    sim = sim_for(worker, 4)
    stub = StubSWF(sim)
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    stub.previous[0] += 1  # as if a task answered elsewhere started after ours
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    assert worker.stats['replays'] == 2 and worker.driver.rebuilds == 2
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4 + 9


def test_a_crashed_task_that_timed_out_is_decided_again():
    worker = worker_for(SumSquares)
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    worker.poll(stub, DOMAIN, DECIDER, 'me')  # taken, then "the decider crashed"
    stub.time_out(0)
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4
    assert scheduled_ids(sim)[:3] == ['square-0-0', 'square-1-0', 'square-2-0']


@pytest.mark.parametrize('fault', ['refused', 'lost', 'unknown'])
@pytest.mark.parametrize('driver', DRIVERS)
def test_after_a_failed_response_the_next_task_replays(fault, driver, caplog):
    worker = worker_for(SumSquares, driver)
    sim = sim_for(worker, 5)
    stub = StubSWF(sim)
    stub.respond_faults = {1: fault, 3: fault}
    with caplog.at_level(logging.INFO, logger='flowy.swf'):
        drive(worker, stub)
    assert result_of(sim) == sum(i * i for i in range(5))
    ids = scheduled_ids(sim)
    assert len(ids) == len(set(ids)), 'no call is scheduled twice'
    assert [i for i in ids if i.startswith('square')] == ['square-%d-0' % i for i in range(5)]
    assert worker.stats['unanswered'] == 2
    if driver == 'cached':
        assert worker.stats['replays'] == worker.driver.rebuilds == 3
    levels = {r.levelno for r in caplog.records if 'decision task of' in r.getMessage()}
    assert levels == {logging.INFO if fault == 'unknown' else logging.ERROR}
    assert worker.cached_runs == 0


def test_the_cache_keeps_the_most_recent_runs():
    worker = worker_for(Chain, cache_size=2)
    sims = [sim_for(worker, 4, workflow_id='run%d' % n) for n in range(3)]
    stub = StubSWF(*sims)
    sizes = []
    stub.on_respond = lambda sim, decisions: sizes.append(max(len(worker.driver),
                                                              worker.cached_runs))
    drive(worker, stub)
    assert [result_of(sim) for sim in sims] == [0 + 1 + 4 + 9] * 3
    assert max(sizes) <= 2
    # three runs in turn through a cache of two: every task rebuilds, but for the last
    # two (the first run closed without taking a place in the cache)
    assert worker.stats['replays'] == worker.stats['decision_tasks'] - 2
    worker = worker_for(Chain, cache_size=3)
    sims = [sim_for(worker, 4, workflow_id='run%d' % n) for n in range(3)]
    drive(worker, StubSWF(*sims))
    assert worker.stats['replays'] == 3


# -- failures and requests from SWF ---------------------------------------------------------


@pytest.mark.parametrize('driver', DRIVERS)
def test_an_unhandled_close_decision_is_decided_again(driver):
    worker = worker_for(SumSquares, driver)
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    stub.unhandled = 1
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4
    kinds = [response[-1]['decisionType'] for response in sim.responses[-2:]]
    assert kinds == ['CompleteWorkflowExecution'] * 2
    assert sim.responses[-1] == sim.responses[-2]
    failed = [e for e in sim.log.events if e['eventType'] == 'CompleteWorkflowExecutionFailed']
    assert len(failed) == 1
    if driver == 'cached':
        assert worker.driver.rebuilds == 2  # the first instance ended with its outcome
    assert worker.cached_runs == 0


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_cancellation_request_cancels_the_run(driver):
    worker = worker_for(Chain, driver)
    sim = sim_for(worker, 5)
    stub = StubSWF(sim)
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    sim.log.cancel_requested()
    drive(worker, stub)
    assert sim.closed[0] == 'CancelWorkflowExecution'
    assert [d['decisionType'] for d in sim.responses[-1]] == ['CancelWorkflowExecution']
    assert len(sim.responses) == 2
    assert worker.cached_runs == 0 and (driver == 'replay' or len(worker.driver) == 0)


def test_an_unknown_workflow_type_is_left_for_another_decider(caplog):
    worker = worker_for(SumSquares)
    other = worker_for(SumSquares, name='Other')
    sim = sim_for(other, 2, name='Other')
    stub = StubSWF(sim)
    with caplog.at_level(logging.ERROR, logger='flowy.swf'):
        task = worker.poll(stub, DOMAIN, DECIDER, 'me')
        worker.handle(stub, task)
    assert stub.responded() == []
    assert worker.stats['unknown_type'] == 1 and worker.stats['unanswered'] == 1
    message = caplog.records[-1].getMessage()
    assert 'Other version 1' in message and 'Flow 1' in message
    # SWF delivers it again after the timeout; a decider that runs it answers
    stub.time_out(0)
    drive(other, stub)
    assert result_of(sim) == 0 + 1


FLIP = {'square': True}


class Flips:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        value = self.square(n) if FLIP['square'] else self.add(n, n)
        return self.square(wait(value))


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_non_deterministic_workflow_fails_naming_the_call(driver):
    FLIP['square'] = True
    try:
        worker = worker_for(Flips, driver)
        sim = sim_for(worker, 3)
        stub = StubSWF(sim)
        worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
        FLIP['square'] = False  # new code deployed under the same version
        new_worker = worker_for(Flips, driver)
        drive(new_worker, stub)
    finally:
        FLIP['square'] = True
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert fail['reason'].startswith('non-deterministic workflow Flow 1: task call #0 is add-0')
    assert 'square-0' in fail['reason'] and len(fail['reason']) <= MAX_REASON
    assert 'new version' in fail['details'] and 'old code' in fail['details']
    assert new_worker.stats['failed'] == 1 and new_worker.cached_runs == 0


@pytest.mark.parametrize('driver', DRIVERS)
def test_an_unreadable_history_fails_the_run(driver):
    worker = worker_for(Chain, driver)
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    sim.log.add('ActivityTaskCompleted', scheduledEventId=999, startedEventId=998, result='1')
    drive(worker, stub)
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert fail['reason'].startswith('flowy cannot read the history of this run: '
                                     'ActivityTaskCompleted')
    assert 'Start the workflow again' in fail['details']


class Broken:
    def __init__(self, square, add):
        self.square = square

    def __call__(self, n):
        return self.square(n)


def test_an_error_in_the_driver_fails_the_run():
    def driver(config, input_data, history, limit=None):
        raise RuntimeError('driver bug')

    worker = worker_for(Broken, driver)
    sim = sim_for(worker, 3)
    drive(worker, StubSWF(sim))
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert fail['reason'] == 'the decider failed on workflow Flow 1: RuntimeError: driver bug'
    assert 'Traceback' in fail['details']


def test_a_decision_too_large_for_a_response_fails_the_run():
    from flowy.decision import Decision, ScheduleCall

    def driver(config, input_data, history, limit=None):
        return Decision([ScheduleCall('square-%d-0' % i, 'square', i, 0, i, '[[1],{}]')
                         for i in range(150)])

    worker = worker_for(Broken, driver)
    sim = sim_for(worker, 3)
    drive(worker, StubSWF(sim))
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert 'does not fit in one SWF response' in fail['reason']
    assert 'rate_limit' in fail['details']


def test_a_page_that_fails_is_tried_again():
    worker = worker_for(SumSquares, page_size=2)
    worker.page_retry_pause = 0
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    stub.page_errors = 2
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4
    assert worker.stats['unanswered'] == 0


@pytest.mark.parametrize('driver', DRIVERS)
def test_a_page_that_keeps_failing_leaves_the_task_to_time_out(driver):
    worker = worker_for(Chain, driver, page_size=2)
    worker.page_retry_pause = 0
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    stub.page_errors = worker.page_attempts
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    assert len(stub.responded()) == 1 and worker.stats['unanswered'] == 1
    assert worker.cached_runs == 0
    stub.time_out(0)
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4


def test_stop_ends_the_pause_before_a_page_is_fetched_again():
    worker = worker_for(SumSquares, page_size=2)
    worker.page_retry_pause = 600  # far longer than the test waits
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    stub.page_errors = worker.page_attempts
    page_failed = threading.Event()
    fetch = stub.poll_for_decision_task

    def poll(*args, **kwargs):
        try:
            return fetch(*args, **kwargs)
        finally:
            if kwargs.get('next_page_token'):
                page_failed.set()

    stub.poll_for_decision_task = poll
    task = worker.poll(stub, DOMAIN, DECIDER, 'me')
    thread = threading.Thread(target=worker.handle, args=(stub, task), daemon=True)
    thread.start()
    assert page_failed.wait(10)
    worker.stop()
    thread.join(10)
    assert not thread.is_alive(), 'stop() did not end the pause before the next try'
    assert stub.responded() == [] and worker.stats['unanswered'] == 1


class Clock:
    """A decider's clock that moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_decision_slower_than_its_timeout_is_a_warning_saying_how_to_give_it_time(caplog):
    clock = Clock()
    worker = worker_for(SumSquares, driver=slow_driver(clock, 25.5))
    worker.clock = clock
    stub = StubSWF(sim_for(worker, 3))  # a decision task timeout of 10 s
    with caplog.at_level(logging.INFO, logger='flowy.swf.decider'):
        worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 'took 25.5 s, longer than the 10 s its decision task may take' in warning
    assert 'default_decision_duration' in warning and 'task_duration' in warning


def test_a_decision_within_its_timeout_is_no_warning(caplog):
    clock = Clock()
    worker = worker_for(SumSquares, driver=slow_driver(clock, 9.5))
    worker.clock = clock
    stub = StubSWF(sim_for(worker, 3))
    with caplog.at_level(logging.INFO, logger='flowy.swf.decider'):
        worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert stub.responded()


def slow_driver(clock, seconds):
    """The replay driver, taking ``seconds`` of ``clock`` over each decision."""
    from flowy.drivers.replay import replay

    def driver(config, input_data, history, limit=None):
        clock.now += seconds
        return replay(config, input_data, history, limit=limit)
    return driver


# -- the payload store ------------------------------------------------------------------------


class Big:
    def __init__(self, square, add):
        self.square = square

    def __call__(self, n):
        return 'x' * n + str(wait(self.square(3)))


class FlakyStore(InMemoryPayloadStore):
    """Its reads fail while ``down`` is set, as S3 does when it cannot be reached."""

    down = False

    def get(self, reference):
        if self.down:
            raise ConnectionError('S3 is unreachable')
        return super().get(reference)


@pytest.mark.parametrize('driver', DRIVERS)
def test_large_values_travel_through_the_payload_store(driver):
    store = FlakyStore()
    worker = worker_for(Big, driver, payload_store=store)
    workflow = worker.registry[('Flow', '1')]
    reference = store.put(workflow._encode_input([40000], {}))
    sim = SimulatedSWF(reference, name='Flow', activities=ACTIVITIES)
    stub = StubSWF(sim)
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    store.down = True  # the next task cannot read the input (a fresh history needs it)
    worker.close()
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    assert len(stub.responded()) == 1 and worker.stats['unanswered'] == 1
    stub.time_out(0)
    store.down = False
    drive(worker, stub)
    kind, completed = sim.closed
    assert kind == 'CompleteWorkflowExecution' and is_reference(completed['result'])
    assert loads(store.get(completed['result'])) == 'x' * 40000 + '9'


def test_a_workflow_input_that_is_gone_fails_the_run():
    store = InMemoryPayloadStore()
    worker = worker_for(Big, payload_store=store)
    sim = SimulatedSWF('flowy-payload:memory:' + '0' * 64, name='Flow', activities=ACTIVITIES)
    drive(worker, StubSWF(sim))
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert fail['reason'].startswith('the input of this run cannot be read')
    assert 'payload store' in fail['details']


# -- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize('driver', DRIVERS)
@pytest.mark.parametrize('rate_limit', [None, 7])
def test_large_fan_outs_are_split_across_responses(driver, rate_limit):
    worker = worker_for(Fanout, driver, flows=config(rate_limit=rate_limit))
    sim = sim_for(worker, 250)
    drive(worker, StubSWF(sim, page_size=100))
    assert result_of(sim) == sum(i * i for i in range(250))
    assert all(len(response) <= MAX_DECISIONS for response in sim.responses)
    first_response = sim.responses[0]
    assert len(first_response) == (MAX_DECISIONS if rate_limit is None else rate_limit + 1)
    assert attributes(first_response[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    assert scheduled_ids(sim) == ['square-%d-0' % i for i in range(250)]


class WithSub:
    def __init__(self, square, add, sub):
        self.square = square
        self.sub = sub

    def __call__(self, n):
        return self.sub(wait(self.square(n))) + 1


def test_task_list_override_moves_every_task():
    flows = config()
    flows.conf_workflow('sub', version='1', name='Sub', task_list='subs')
    worker = worker_for(WithSub, flows=flows, task_list_override='dev-1')
    sim = sim_for(worker, 3, children={'Sub': lambda x: x + 1})
    drive(worker, StubSWF(sim))
    assert result_of(sim) == 9 + 1 + 1
    started = [d for response in sim.responses for d in response
               if d['decisionType'] in ('ScheduleActivityTask', 'StartChildWorkflowExecution')]
    assert [d['decisionType'] for d in started] == ['ScheduleActivityTask',
                                                    'StartChildWorkflowExecution']
    assert {attributes(d)['taskList']['name'] for d in started} == {'dev-1'}
    workflow = worker.registry[('Flow', '1')]
    assert workflow.task_types['square'].task_list == 'squares', 'the config is unchanged'
    assert workflow.task_types['sub'].task_list == 'subs'
    plain = worker_for(WithSub, flows=flows)
    sim = sim_for(plain, 3, children={'Sub': lambda x: x + 1})
    drive(plain, StubSWF(sim))
    assert [attributes(d)['taskList']['name'] for response in sim.responses
            for d in response if 'taskList' in attributes(d)] == ['squares', 'subs']


def test_retries_through_timers_with_the_cache():
    worker = worker_for(SumSquares, flows=config(retry=(0, 2, 5)))
    sim = sim_for(worker, 4, time_out={'square-1-0', 'square-1-1', 'square-3-0'})
    stub = StubSWF(sim, page_size=3)
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4 + 9
    assert worker.stats['replays'] == 1
    expected = reference_responses(SumSquares, 4, flows=config(retry=(0, 2, 5)),
                                   time_out={'square-1-0', 'square-1-1', 'square-3-0'})
    assert sim.responses == expected


# -- the loop -------------------------------------------------------------------------------


def test_stop_from_another_thread_ends_run_forever():
    worker = worker_for(SumSquares)
    stub = StubSWF()
    thread = threading.Thread(target=worker.run_forever, args=(DOMAIN, DECIDER),
                              kwargs=dict(swf_client=stub, setup_log=False,
                                          register_remote=False), daemon=True)
    thread.start()
    assert stub.idle.wait(10), 'the worker never polled'
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_run_forever_decides_until_stopped_and_drops_its_cache():
    worker = worker_for(SumSquares)
    sim = sim_for(worker, 4)
    stub = StubSWF(sim, page_size=3)
    run_forever_in_thread(worker, stub)
    assert result_of(sim) == 0 + 1 + 4 + 9
    assert len(worker.driver) == 0


def test_a_stop_during_a_task_finishes_it_first():
    worker = worker_for(Chain)
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    stub.on_respond = lambda sim, decisions: worker.stop()
    thread = threading.Thread(target=worker.run_forever, args=(DOMAIN, DECIDER),
                              kwargs=dict(swf_client=stub, setup_log=False,
                                          register_remote=False), daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert len(sim.responses) == 1 and worker.stats['responses'] == 1


def test_a_failed_poll_is_tried_again_after_a_pause(caplog):
    worker = worker_for(SumSquares)
    worker.poll_retry_first = worker.poll_retry_max = 0.001
    sim = sim_for(worker, 3)
    stub = StubSWF(sim)
    stub.poll_errors = 3
    with caplog.at_level(logging.WARNING, logger='flowy.swf'):
        run_forever_in_thread(worker, stub)
    assert result_of(sim) == 0 + 1 + 4
    warnings = [r.getMessage() for r in caplog.records if 'polling' in r.getMessage()]
    assert len(warnings) == 3 and '3 in a row' in warnings[-1]


# -- replay and cache decide alike ------------------------------------------------------------


class Program:
    """A workflow that runs the program it gets as input (see ``programs`` below)."""

    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, program):
        values = []
        for op in program:
            kind = op[0]
            if kind == 'square':
                values.append(self.square(op[1] if op[2] is None else values[op[2]]))
            elif kind == 'add':
                values.append(self.add(values[op[1]], values[op[2]]))
            elif kind == 'branch':
                try:
                    value = wait(values[op[1]])
                except TaskError:
                    value = -1
                values.append(self.square(value) if value % 2 else value)
            elif kind == 'first':
                values.append(first(*[values[i] for i in op[1]]))
            else:
                values.append(parallel_reduce(self.add, [values[i] for i in op[1]]))
        results = []
        for value in values:
            try:
                results.append(wait(value))
            except TaskError as error:
                results.append(str(error))
        return results


@st.composite
def programs(draw):
    program = []
    for _ in range(draw(st.integers(1, 10))):
        choices = ['square'] + (['add', 'branch', 'first', 'reduce'] if program else [])
        kind = draw(st.sampled_from(choices))
        index = st.integers(0, max(0, len(program) - 1))
        if kind == 'square':
            source = draw(st.one_of(st.none(), index)) if program else None
            program.append(['square', draw(st.integers(0, 9)), source])
        elif kind == 'add':
            program.append(['add', draw(index), draw(index)])
        elif kind == 'branch':
            program.append(['branch', draw(index)])
        else:
            program.append([kind, draw(st.lists(index, min_size=1, max_size=5))])
    return program


class ShuffledSWF(SimulatedSWF):
    """Finishes a random share of the open activities per round, in random order."""

    def __init__(self, *args, seed=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.random = random.Random(seed)

    def advance(self):
        open_activities = list(self.open_activities.items())
        keep = {}
        if len(open_activities) > 1:
            self.random.shuffle(open_activities)
            for event_id, attributes_ in open_activities[self.random.randint(
                    1, len(open_activities)):]:
                keep[event_id] = attributes_
            self.open_activities = dict(item for item in open_activities
                                        if item[0] not in keep)
        happened = super().advance()
        self.open_activities = keep
        return happened


def run_program(driver, program, seed, page_size, faults, fail, time_out, rate_limit,
                retry=(0, 0), throttle=None):
    """Run ``program`` with a decider of ``driver``; returns (SimulatedSWF, worker)."""
    worker = worker_for(Program, driver, flows=config(rate_limit=rate_limit, retry=retry))
    workflow = worker.registry[('Flow', '1')]
    sim = ShuffledSWF(workflow._encode_input([program], {}), name='Flow', seed=seed,
                      activities=ACTIVITIES, fail=fail, time_out=time_out, throttle=throttle)
    stub = StubSWF(sim, page_size=page_size)
    stub.respond_faults = dict(faults)
    drive(worker, stub)
    return sim, worker


def check_responses(sim, limit=CALL_LIMIT):
    """What every decider sends, whatever its driver: each call once, in call order.

    In each response, the calls started (activities, retry and back-off timers, markers)
    are at most ``limit``, and the activities and markers are in call order; no activity
    is scheduled twice, no retry timer started twice (but for the starts SWF refused for
    a rate or limit, ``sim.refused``: each is sent again once, after a back-off timer of
    its own), and every call a retry timer was started for is scheduled once the run
    completed.
    """
    scheduled, timers, backoffs = [], [], []
    for response in sim.responses:
        positions = []
        starts = 0
        for decision in response:
            kind, values = decision['decisionType'], attributes(decision)
            if kind == 'ScheduleActivityTask':
                scheduled.append(values['activityId'])
                positions.append(json.loads(values['control'])['position'])
            elif kind == 'RecordMarker':
                positions.append(json.loads(values['details'])['position'])
            elif kind == 'StartTimer' and values['timerId'].startswith(WAKE_UP_TIMER_PREFIX):
                assert decision is response[-1]
                continue
            elif kind == 'StartTimer' and backoff_timer_key(values['timerId']):
                backoffs.append(backoff_timer_key(values['timerId']))
            elif kind == 'StartTimer':
                timers.append(retry_timer_key(values['timerId']))
            else:
                continue
            starts += 1
        assert positions == sorted(positions), response
        assert starts <= limit, response
    refused = collections.Counter(name for name, _ in sim.refused)
    once = collections.Counter(scheduled)
    once.subtract({name: count for name, count in refused.items()
                   if not retry_timer_key(name) and not backoff_timer_key(name)})
    assert set(once.values()) <= {0, 1}, scheduled  # 0: refused until it failed
    retries = collections.Counter(timers)
    retries.subtract({retry_timer_key(name): count for name, count in refused.items()
                      if retry_timer_key(name)})
    assert set(retries.values()) <= {0, 1}, timers
    assert len(backoffs) == len(set(backoffs)), backoffs
    refusals = collections.Counter()  # of each call: its own starts' and its timers'
    for name, count in refused.items():
        key = retry_timer_key(name) or (backoff_timer_key(name) or (name,))[0]
        refusals[key] += count
    numbers = collections.defaultdict(list)
    for key, number in backoffs:  # a back-off timer follows each refusal, in turn
        numbers[key].append(number)
    for key, started in numbers.items():
        # (none after the last refusal a call may have: it fails; and none after a
        # refusal the run no longer waited for)
        assert started == list(range(1, len(started) + 1)), (key, started)
        assert len(started) <= min(refusals[key], MAX_REFUSALS - 1), (key, sim.refused)
    if sim.closed[0] == 'CompleteWorkflowExecution':
        given_up = {key for key, count in refusals.items() if count >= MAX_REFUSALS}
        assert set(timers) - given_up <= set(scheduled)


RETRIES = [(0, 0), (0, 1), (0, 2, 1), (3, 1)]  # delays in seconds; (3, 1): every attempt
ACTIVITY_THROTTLES = ['ACTIVITY_CREATION_RATE_EXCEEDED', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED']
TIMER_THROTTLES = ['TIMER_CREATION_RATE_EXCEEDED', 'OPEN_TIMERS_LIMIT_EXCEEDED']


@st.composite
def throttles(draw):
    """What SimulatedSWF refuses for a rate or a limit: starts, retry and back-off timers.

    Now and then a call is refused as often as flowy allows (MAX_REFUSALS): it fails.
    """
    throttle = {}
    for name in draw(st.sets(st.sampled_from(
            ['square-0-0', 'square-1-0', 'square-2-0', 'add-0-0', 'square-0-1',
             'square-0-1.retry', 'square-1-1.retry', 'square-0-0.backoff.1']), max_size=3)):
        causes = TIMER_THROTTLES if '.' in name else ACTIVITY_THROTTLES
        count = draw(st.one_of(st.integers(1, 3), st.just(MAX_REFUSALS)))
        throttle[name] = [draw(st.sampled_from(causes)) for _ in range(count)]
    return throttle


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2 ** 16), st.sampled_from([None, 1, 4]),
       st.dictionaries(st.integers(1, 12), st.sampled_from(['refused', 'lost', 'unknown']),
                       max_size=3),
       st.sets(st.sampled_from(['square-0-0', 'square-1-0', 'add-0-0'])),
       st.sets(st.sampled_from(['square-0-0', 'square-1-0', 'square-2-0', 'square-0-1',
                                'square-1-1'])),
       st.sampled_from([None, 1, 3]), st.sampled_from(RETRIES), throttles())
def test_replay_and_cached_deciders_send_the_same_decisions(program, seed, page_size, faults,
                                                            failing, timing_out, rate_limit,
                                                            retry, throttle):
    """Random programs, finish orders, page sizes, lost responses, failures, timeouts,
    retries at once or after a delay, rate limits, starts SWF refuses for a rate or a
    limit: both deciders send the same responses.

    The calls that wait for a retry or back-off timer (the cached driver decided them
    once; replay decides them again, within its limit) are placed by to_swf within the
    limit the decider gives the driver.
    """
    fail = {key: 'no %s' % key for key in failing}
    limit = CALL_LIMIT if rate_limit is None else rate_limit
    run = functools.partial(run_program, program=program, seed=seed, page_size=page_size,
                            faults=faults, fail=fail, time_out=timing_out,
                            rate_limit=rate_limit, retry=retry, throttle=throttle)
    replayed, _ = run('replay')
    cached, worker = run('cached')
    check_responses(replayed, limit)
    assert cached.responses == replayed.responses
    assert cached.refused == replayed.refused
    assert cached.closed[0] in ('CompleteWorkflowExecution', 'FailWorkflowExecution')
    assert worker.cached_runs == 0 and len(worker.driver) == 0
    assert json.dumps(cached.closed[1], sort_keys=True) == json.dumps(replayed.closed[1],
                                                                      sort_keys=True)


@pytest.mark.parametrize('rate_limit', [None, 1])
def test_retries_after_a_delay_go_out_in_call_order_with_either_driver(rate_limit):
    program = [['square', 0, None], ['square', 0, None], ['square', 0, None], ['add', 0, 0],
               ['branch', 0], ['branch', 0]]
    runs = [run_program(driver, program, 0, None, {}, {}, {'square-0-0', 'square-2-0'},
                        rate_limit, retry=(0, 1))[0].responses for driver in DRIVERS]
    assert runs[0] == runs[1]
    first_retry = runs[0][2]  # after the retry timer: the retry, in the limit
    assert attributes(first_retry[0])['activityId'] == 'square-0-1'
    if rate_limit == 1:
        assert [d['decisionType'] for d in first_retry] == ['ScheduleActivityTask',
                                                            'StartTimer']


def test_a_retry_decided_earlier_counts_against_the_limit_of_a_later_response():
    """square-0 times out and waits for its retry timer; when it fires, square-2 has
    finished and the body makes three new calls, its limit: replay decides the retry and
    two of them, and the cached decider sends the same.
    """
    program = [['square', 0, None], ['square', 1, None], ['square', 2, None], ['branch', 2],
               ['square', 3, None], ['square', 4, None], ['square', 5, None]]
    for seed in range(6):
        runs = [run_program(driver, program, seed, None, {}, {}, {'square-0-0'}, 3,
                            retry=(0, 1))[0] for driver in ('replay', 'cached')]
        assert runs[1].responses == runs[0].responses
        check_responses(runs[0], 3)
        assert result_of(runs[1]) == result_of(runs[0])


# -- starts SWF refuses for a rate or a limit ---------------------------------------------------


@pytest.mark.parametrize('driver', DRIVERS)
def test_throttled_starts_back_off_and_start_again(driver):
    worker = worker_for(SumSquares, driver)
    sim = sim_for(worker, 4, throttle={'square-1-0': ['OPEN_ACTIVITIES_LIMIT_EXCEEDED',
                                                      'ACTIVITY_CREATION_RATE_EXCEEDED'],
                                       'add-0-0': 1})
    stub = StubSWF(sim, page_size=3)
    drive(worker, stub)
    assert result_of(sim) == 0 + 1 + 4 + 9
    assert sorted(name for name, _ in sim.refused) == ['add-0-0', 'square-1-0', 'square-1-0']
    timers = [attributes(d)['timerId'] for response in sim.responses for d in response
              if d['decisionType'] == 'StartTimer']
    assert sorted(timers) == ['add-0-0.backoff.1', 'square-1-0.backoff.1',
                              'square-1-0.backoff.2']
    assert scheduled_ids(sim).count('square-1-0') == 3
    if driver == 'cached':  # the cache follows the refusals without a replay
        assert worker.stats['replays'] == 1 and worker.rebuilds == 1
    assert worker.stats['failed'] == 0


def test_a_start_refused_too_often_fails_the_call_with_either_driver():
    runs = []
    for driver in DRIVERS:
        worker = worker_for(Fanout, driver)
        sim = sim_for(worker, 3, throttle={'square-2-0': MAX_REFUSALS})
        drive(worker, StubSWF(sim))
        kind, fail = sim.closed
        assert kind == 'FailWorkflowExecution'
        assert 'SWF kept refusing it (10 times' in fail['reason']
        runs.append(sim.responses)
    assert runs[0] == runs[1]


def test_a_throttled_call_takes_its_place_in_the_limit_as_under_replay():
    """``add-0-0`` is refused while the limit is 1: replay decides it again at every
    task, the cached driver does not, and its body goes on to the end before the calls it
    made got out.  The run does not close before a replay would: the responses agree.
    """
    program = [['square', 0, None], ['reduce', [0, 0, 0, 0]], ['reduce', [0, 0, 1]]]
    runs = [run_program(driver, program, 0, None, {}, {'add-0-0': 'no'}, set(), 1,
                        throttle={'add-0-0': 1})[0] for driver in ('replay', 'cached')]
    assert runs[1].responses == runs[0].responses
    check_responses(runs[0], 1)
    ids = scheduled_ids(runs[0])
    assert ids.count('add-0-0') == 2 and 'add-1-0' in ids
    assert result_of(runs[1]) == result_of(runs[0])


# -- batch_wait ---------------------------------------------------------------------------------

@pytest.mark.parametrize('value', [-1, 61, 'x', True])
def test_batch_wait_must_be_seconds_from_0_to_60(value):
    with pytest.raises(ValueError, match='batch_wait must be a number of seconds'):
        SWFWorkflowWorker(batch_wait=value)


class Ticking:
    """A decider's clock that moves 10 ms each time it is read."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        self.now += 0.01
        return self.now


@pytest.mark.parametrize('driver', DRIVERS)
def test_answers_wait_while_workers_are_behind_and_say_the_same(driver):
    responses, held = {}, {}
    for batch_wait in (0, 1):
        worker = worker_for(SumSquares, driver, batch_wait=batch_wait)
        worker.clock = Ticking()
        sim = sim_for(worker, 12, workers=1)  # one activity finishes per response
        drive(worker, StubSWF(sim))
        assert result_of(sim) == sum(i * i for i in range(12))
        responses[batch_wait], held[batch_wait] = sim.responses, worker.held_answers
    assert held[0] == 0 and held[1] > 0
    # holding changes when an answer goes, not what it says
    assert responses[1] == responses[0]


def test_a_chain_is_never_held():
    worker = worker_for(Chain, batch_wait=1)
    worker.clock = Ticking()
    sim = sim_for(worker, 6, workers=1)
    drive(worker, StubSWF(sim))
    assert result_of(sim) == sum(i * i for i in range(6))
    assert worker.held_answers == 0


def test_workers_keeping_up_are_not_held():
    worker = worker_for(SumSquares, batch_wait=1)
    worker.clock = Ticking()
    sim = sim_for(worker, 12)  # every activity finishes by the next task: none waits
    drive(worker, StubSWF(sim))
    assert result_of(sim) == sum(i * i for i in range(12))
    assert worker.held_answers == 0


def test_a_stopping_decider_sends_the_answers_it_holds():
    clock = Clock()
    worker = worker_for(SumSquares, batch_wait=60)
    worker.clock = clock
    sim = sim_for(worker, 12, workers=1)
    stub = StubSWF(sim)
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    clock.now += 1  # one square a second: the other eleven keep the worker busy 11 s
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    assert worker.held_answers == 1 and len(sim.responses) == 1
    worker.stop()  # before run_forever: it only sends what it holds, and returns
    worker.run_forever(DOMAIN, DECIDER, swf_client=stub, setup_log=False,
                       register_remote=False)
    assert len(sim.responses) == 2
    assert worker.flush() == 0


def test_a_held_answer_that_fails_forgets_the_run():
    clock = Clock()
    worker = worker_for(SumSquares, batch_wait=60)
    worker.clock = clock
    sim = sim_for(worker, 12, workers=1)
    stub = StubSWF(sim)
    stub.respond_faults = {2: 'unknown'}  # the held answer comes too late: timed out
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    clock.now += 1
    worker.handle(stub, worker.poll(stub, DOMAIN, DECIDER, 'me'))
    assert worker.cached_runs == 1 and worker.held_answers == 1
    worker.flush()
    assert worker.cached_runs == 0 and worker.stats['unanswered'] == 1
    drive(worker, stub)  # SWF's next task replays the run
    assert result_of(sim) == sum(i * i for i in range(12))


def test_the_first_page_fits_usual_news_and_the_largest_of_the_last_tasks():
    from flowy.swf.pages import FIRST_PAGE_MIN, MAX_PAGE, RECENT_TASKS

    worker = SWFWorkflowWorker()
    assert worker._first_page == FIRST_PAGE_MIN
    for _ in range(20):
        worker._observe(6)
    usual = worker._first_page
    assert FIRST_PAGE_MIN <= usual <= 20  # twice the usual news, and a little
    worker._observe(300)  # a task whose answer was held back brings more
    for _ in range(RECENT_TASKS - 1):
        worker._observe(6)
        assert worker._first_page >= 304
    worker._observe(6)  # out of the last tasks now: back to the usual size
    assert worker._first_page < 304
    for _ in range(RECENT_TASKS):
        worker._observe(5000)
    assert worker._first_page == MAX_PAGE
