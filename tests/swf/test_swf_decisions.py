"""flowy.swf.decisions: a flowy Decision into the decisions of one SWF response.

Unit tests build Decisions by hand; round trips run workflows with the replay and cached
drivers against SimulatedSWF (tests/swf/swf_events.py), which records the events SWF
would and validates every decision against botocore's SWF service model.
"""

import json

import pytest
from swf_events import (
    EventLog,
    SimulatedSWF,
    check_decision,
    packer_of,
    result_of,
    run_on_swf,
    swf_shapes,
)

from flowy import TaskError, parallel_reduce, restart, wait
from flowy.config import ACTIVITY, WORKFLOW, TaskSpec, WorkflowConfig
from flowy.decision import Decision, Fail, FailCall, Finish, Restart, ScheduleCall
from flowy.drivers.cached import CachedDriver
from flowy.drivers.replay import replay
from flowy.history import FAILED
from flowy.swf.decisions import (
    CALL_LIMIT,
    MAX_DATA,
    MAX_DECISIONS,
    MAX_REASON,
    WAKE_UP_TIMER_PREFIX,
    TooManyDecisions,
)
from flowy.swf.failures import full_reason
from flowy.swf.history import MAX_REFUSALS, ExecutionHistory
from flowy.swf.names import CALL_FAILED_MARKER, backoff_delay, child_workflow_id, run_tag
from flowy.swf.packer import to_swf
from flowy.swf.types import TaskType

SQUARE = TaskType('activity', 'square', '1')
SUB = TaskType('workflow', 'Sub', '2')
TYPES = {'square': SQUARE, 'sub': SUB}



def marked(decisions):
    """The decisions before the wake-up timer that follows a call_failed marker (a marker
    schedules no decision task on SWF: the timer brings the next one)."""
    *rest, wake_up = decisions
    assert wake_up['decisionType'] == 'StartTimer'
    assert attributes(wake_up)['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    assert any(d['decisionType'] == 'RecordMarker' for d in rest)
    return rest

def execution_for(workflow_id='order-7', **start):
    log = EventLog()
    log.workflow_started(**start)
    log.decision_round()
    execution = ExecutionHistory(workflow_id)
    execution.feed(log.events)
    return execution, log


def call(key='square-0-0', position=0, input='[[2],{}]', delay=0):
    dep, number, attempt = key.rsplit('-', 2)
    return ScheduleCall(key, dep, int(number), int(attempt), position, input, delay=delay)


def translate(decision, types=TYPES, execution=None, **options):
    if execution is None:
        execution, _ = execution_for()
    decisions = to_swf(decision, types, packer_of(execution), **options)
    if swf_shapes() is not None:
        for swf_decision in decisions:
            check_decision(swf_decision)
    return decisions


def attributes(swf_decision):
    kind = swf_decision['decisionType']
    return swf_decision[kind[0].lower() + kind[1:] + 'DecisionAttributes']


# -- TaskType ------------------------------------------------------------------------------


def test_task_type_defaults_and_conversions():
    task_type = TaskType('activity', 'square', 3, task_list='tasks', heartbeat=30,
                         schedule_to_close='none', schedule_to_start=5, start_to_close='NONE')
    assert task_type.version == '3'
    assert task_type.heartbeat == '30' and task_type.schedule_to_start == '5'
    assert task_type.schedule_to_close == 'NONE' and task_type.start_to_close == 'NONE'
    child = TaskType('workflow', 'Sub', 'v2', workflow_duration=600, decision_duration='None',
                     child_policy='request_cancel')
    assert (child.workflow_duration, child.decision_duration, child.child_policy) == (
        '600', 'NONE', 'REQUEST_CANCEL')
    assert 'Sub' in repr(child) and 'child_policy=REQUEST_CANCEL' in repr(child)


@pytest.mark.parametrize('kwargs, field', [
    ({'kind': 'task'}, 'kind'),
    ({'name': ''}, 'name'),
    ({'name': 'a:b'}, 'name'),
    ({'name': 'arn'}, 'name'),
    ({'name': 'n' * 257}, 'name'),
    ({'version': None}, 'version'),
    ({'version': 'v' * 65}, 'version'),
    ({'version': '1/2'}, 'version'),
    ({'task_list': ''}, 'task_list'),
    ({'task_list': 'a|b'}, 'task_list'),
    ({'heartbeat': 0}, 'heartbeat'),
    ({'heartbeat': -5}, 'heartbeat'),
    ({'heartbeat': 1.5}, 'heartbeat'),
    ({'heartbeat': True}, 'heartbeat'),
    ({'heartbeat': '30'}, 'heartbeat'),
    ({'schedule_to_close': 10 ** 8}, 'schedule_to_close'),
    ({'schedule_to_start': 'never'}, 'schedule_to_start'),
    ({'start_to_close': [5]}, 'start_to_close'),
])
def test_task_type_rejects_bad_values_naming_the_field(kwargs, field):
    arguments = dict(kind='activity', name='square', version='1')
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=field):
        TaskType(**arguments)


@pytest.mark.parametrize('kwargs, field', [
    ({'workflow_duration': 'NONE'}, 'workflow_duration'),
    ({'workflow_duration': 366 * 24 * 3600}, 'workflow_duration'),
    ({'decision_duration': 0}, 'decision_duration'),
    ({'child_policy': 'KILL'}, 'child_policy'),
    ({'child_policy': 1}, 'child_policy'),
    ({'heartbeat': 10}, 'heartbeat'),
    ({'start_to_close': 10}, 'start_to_close'),
])
def test_workflow_task_type_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TaskType('workflow', 'Sub', '1', **kwargs)


@pytest.mark.parametrize('field', ['workflow_duration', 'decision_duration', 'child_policy'])
def test_workflow_options_do_not_apply_to_activities(field):
    value = 'ABANDON' if field == 'child_policy' else 60
    with pytest.raises(ValueError, match=field):
        TaskType('activity', 'square', '1', **{field: value})


# -- starting calls ------------------------------------------------------------------------


def test_schedule_activity_task_with_registered_defaults():
    [decision] = translate(Decision([call('square-3-0', 5, '[[4],{}]')]))
    assert decision == {
        'decisionType': 'ScheduleActivityTask',
        'scheduleActivityTaskDecisionAttributes': {
            'activityType': {'name': 'square', 'version': '1'},
            'activityId': 'square-3-0',
            'control': '{"position":5}',
            'input': '[[4],{}]',
        }}


def test_schedule_activity_task_with_every_option():
    types = {'square': TaskType('activity', 'sq', '2', task_list='fast', heartbeat=10,
                                schedule_to_close=600, schedule_to_start='NONE',
                                start_to_close=300)}
    [decision] = translate(Decision([call()]), types)
    assert attributes(decision) == {
        'activityType': {'name': 'sq', 'version': '2'},
        'activityId': 'square-0-0',
        'control': '{"position":0}',
        'input': '[[2],{}]',
        'taskList': {'name': 'fast'},
        'heartbeatTimeout': '10',
        'scheduleToCloseTimeout': '600',
        'scheduleToStartTimeout': 'NONE',
        'startToCloseTimeout': '300',
    }


def test_start_child_workflow_with_a_deterministic_id():
    types = {'sub': TaskType('workflow', 'Sub', '2', task_list='subs', workflow_duration=600,
                             decision_duration=20, child_policy='abandon')}
    decision = Decision([call('sub-1-0', 3, '[[1],{}]')])
    [first] = translate(decision, types)
    [again] = translate(decision, types)  # another decision task, another decider process
    assert first == again == {
        'decisionType': 'StartChildWorkflowExecution',
        'startChildWorkflowExecutionDecisionAttributes': {
            'workflowType': {'name': 'Sub', 'version': '2'},
            'workflowId': 'order-7.sub-1-0',
            'control': '{"key":"sub-1-0","position":3}',
            'input': '[[1],{}]',
            'taskList': {'name': 'subs'},
            'executionStartToCloseTimeout': '600',
            'taskStartToCloseTimeout': '20',
            'childPolicy': 'ABANDON',
        }}


def test_the_children_of_a_continued_run_have_ids_of_their_own():
    execution, log = execution_for(continued_from='run-99')
    tag = run_tag('run-99')
    [decision] = translate(Decision([call('sub-1-0', 3)]), execution=execution)
    workflow_id = attributes(decision)['workflowId']
    assert workflow_id == 'order-7.%s.sub-1-0' % tag == child_workflow_id('order-7', 'sub-1-0',
                                                                          tag)
    assert workflow_id != translate(Decision([call('sub-1-0', 3)]))[0][
        'startChildWorkflowExecutionDecisionAttributes']['workflowId']
    # another continued run of the same workflow: another id
    other, _ = execution_for(continued_from='run-100')
    assert attributes(translate(Decision([call('sub-1-0', 3)]), execution=other)[0])[
        'workflowId'] == 'order-7.%s.sub-1-0' % run_tag('run-100') != workflow_id
    # read back, with or without control
    log.child_initiated('sub-1-0', log.decision_round(), workflow_id, control=None)
    execution.feed(log.events)
    assert execution.child_key(workflow_id) == 'sub-1-0'
    assert execution.history.get('sub-1-0').state == 'running'


def test_a_long_child_id_of_a_continued_run_stays_within_256_characters():
    execution, _ = execution_for(workflow_id='w' * 250, continued_from='run-1')
    [decision] = translate(Decision([call('sub-0-0')]), execution=execution)
    workflow_id = attributes(decision)['workflowId']
    assert len(workflow_id) <= 256
    assert workflow_id.endswith('.%s.sub-0-0' % run_tag('run-1'))


def test_a_child_needs_the_parents_workflow_id():
    execution = ExecutionHistory()
    with pytest.raises(ValueError, match='workflow_id'):
        to_swf(Decision([call('sub-0-0')]), TYPES, packer_of(execution))


def test_a_dependency_without_task_type_is_an_error():
    with pytest.raises(ValueError, match="'cube'"):
        translate(Decision([call('cube-0-0')]))


def test_calls_keep_their_order():
    decisions = translate(Decision([call('square-0-0', 0), call('sub-0-0', 1),
                                    call('square-1-0', 2)]))
    assert [attributes(d).get('activityId') or attributes(d)['workflowId']
            for d in decisions] == ['square-0-0', 'order-7.sub-0-0', 'square-1-0']


# -- retries through timers ----------------------------------------------------------------


def test_a_delayed_call_starts_a_retry_timer():
    execution, _ = execution_for()
    [decision] = translate(Decision([call('square-0-1', delay=2.5)]), execution=execution)
    assert decision == {'decisionType': 'StartTimer',
                        'startTimerDecisionAttributes': {'timerId': 'square-0-1.retry',
                                                         'startToFireTimeout': '3'}}
    assert list(packer_of(execution).waiting) == ['square-0-1']


def test_a_pending_timer_is_not_started_again_and_a_fired_one_schedules_the_call():
    execution, log = execution_for()
    timer = log.timer_started('square-0-1.retry', log.decision_round(), seconds='3')
    execution.feed(log.events)
    delayed = Decision([call('square-0-1', delay=3)])
    assert translate(delayed, execution=execution) == []
    log.timer_fired('square-0-1.retry', timer)
    execution.feed(log.events)
    [decision] = translate(delayed, execution=execution)
    assert attributes(decision)['activityId'] == 'square-0-1'


def test_waiting_calls_start_when_their_timer_fires_even_if_not_decided_again():
    # the cached driver decides a call once; the translation remembers it
    execution, log = execution_for()
    [timer_decision] = translate(Decision([call('sub-0-1', 2, delay=1)]), execution=execution)
    timer = log.timer_started('sub-0-1.retry', log.decision_round(), seconds='1')
    execution.feed(log.events)
    assert translate(Decision([]), execution=execution) == []
    log.timer_fired('sub-0-1.retry', timer)
    execution.feed(log.events)
    [decision] = translate(Decision([]), execution=execution)
    assert attributes(decision)['workflowId'] == 'order-7.sub-0-1'
    assert json.loads(attributes(decision)['control']) == {'key': 'sub-0-1', 'position': 2}
    # once the start is in the history, the call stops waiting
    log.child_initiated('sub-0-1', log.decision_round(), 'order-7.sub-0-1', position=2)
    execution.feed(log.events)
    assert translate(Decision([]), execution=execution) == []
    assert packer_of(execution).waiting == {}


def test_a_lost_timer_is_started_again():
    execution, log = execution_for()
    translate(Decision([call('square-0-1', delay=4)]), execution=execution)
    # the response never reached SWF: no TimerStarted; the next decision starts it again
    [decision] = translate(Decision([]), execution=execution)
    assert attributes(decision) == {'timerId': 'square-0-1.retry', 'startToFireTimeout': '4'}


def test_a_call_whose_retry_timer_failed_is_no_longer_waiting():
    execution, log = execution_for()
    translate(Decision([call('square-0-1', delay=4)]), execution=execution)
    log.start_timer_failed('square-0-1.retry', 'OPERATION_NOT_PERMITTED', log.decision_round())
    execution.feed(log.events)
    assert execution.history.get('square-0-1').state is FAILED
    assert translate(Decision([]), execution=execution) == []
    assert packer_of(execution).waiting == {}


# -- starts SWF refused for a rate or a limit: a back-off, then again -----------------------


def applied(decisions, log):
    """What SWF records for ``decisions`` when it accepts them all."""
    completed = log.decision_round()
    for decision in decisions:
        values = attributes(decision)
        kind = decision['decisionType']
        if kind == 'ScheduleActivityTask':
            log.activity_scheduled(values['activityId'], completed,
                                   position=json.loads(values['control'])['position'])
        elif kind == 'StartChildWorkflowExecution':
            control = json.loads(values['control'])
            log.child_initiated(control['key'], completed, values['workflowId'],
                                position=control['position'])
        elif kind == 'StartTimer':
            log.timer_started(values['timerId'], completed, values['startToFireTimeout'])
    return completed


def refused(decisions, log, cause):
    """What SWF records when it refuses every start of ``decisions`` for ``cause``."""
    completed = log.decision_round()
    for decision in decisions:
        values = attributes(decision)
        kind = decision['decisionType']
        if kind == 'ScheduleActivityTask':
            log.schedule_activity_failed(values['activityId'], cause, completed)
        elif kind == 'StartChildWorkflowExecution':
            log.start_child_failed(values['workflowId'], cause, completed,
                                   control=values['control'], name='Sub', version='2')
        else:
            log.start_timer_failed(values['timerId'], cause, completed)


def fire(log, timer_id):
    """The pending timer ``timer_id`` fires."""
    started = [event['eventId'] for event in log.events if event['eventType'] == 'TimerStarted'
               and event['timerStartedEventAttributes']['timerId'] == timer_id]
    log.timer_fired(timer_id, started[-1])


class Both:
    """A cached decider (one ExecutionHistory, each call decided once) and a replaying
    one (a fresh ExecutionHistory each time, every call missing from the history decided
    again) on the same events: each step checks that they send the same.
    """

    def __init__(self, calls, **start):
        self.calls = calls
        self.cached, self.log = execution_for(**start)
        self.start = start
        self.first = True

    def decide(self):
        fresh = ExecutionHistory('order-7')
        fresh.feed(self.log.events)
        self.cached.feed(self.log.events)
        missing = [c for c in self.calls if fresh.history.get(c.key) is None]
        replayed = translate(Decision(missing), execution=fresh)
        cached = translate(Decision(self.calls if self.first else []), execution=self.cached)
        self.first = False
        assert cached == replayed
        return cached


@pytest.mark.parametrize('kind, cause', [
    ('square', 'ACTIVITY_CREATION_RATE_EXCEEDED'), ('square', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED'),
    ('sub', 'CHILD_CREATION_RATE_EXCEEDED'), ('sub', 'OPEN_CHILDREN_LIMIT_EXCEEDED'),
    ('sub', 'OPEN_WORKFLOWS_LIMIT_EXCEEDED')])
def test_a_throttled_start_backs_off_then_starts_again_with_the_same_key(kind, cause):
    key = '%s-0-0' % kind
    run = Both([call(key, 0), call('square-1-0', 1)])
    first = run.decide()
    assert len(first) == 2 and list(packer_of(run.cached).sent) == [key, 'square-1-0']
    refused(first[:1], run.log, cause)
    applied(first[1:], run.log)
    # the first refusal: a back-off timer of backoff_delay(key, 1) seconds
    [timer] = run.decide()
    assert attributes(timer) == {'timerId': key + '.backoff.1',
                                 'startToFireTimeout': str(backoff_delay(key, 1))}
    assert list(packer_of(run.cached).waiting) == [key] and packer_of(run.cached).sent == {}
    applied([timer], run.log)
    assert run.decide() == []  # it waits for its timer: nothing else, no wake-up timer
    fire(run.log, key + '.backoff.1')
    [again] = run.decide()
    assert again == first[0]  # the same start, the same key (and workflowId)
    refused([again], run.log, cause)
    [timer] = run.decide()
    assert attributes(timer) == {'timerId': key + '.backoff.2',
                                 'startToFireTimeout': str(backoff_delay(key, 2))}
    applied([timer], run.log)
    fire(run.log, key + '.backoff.2')
    assert run.decide() == first[:1]
    applied(first[:1], run.log)
    assert run.decide() == []
    packer = packer_of(run.cached)
    assert packer.waiting == {} and packer.sent == {} and packer.backlog == {}
    assert run.cached.history.get(key).state == 'running'


@pytest.mark.parametrize('cause', ['TIMER_CREATION_RATE_EXCEEDED', 'OPEN_TIMERS_LIMIT_EXCEEDED'])
def test_a_throttled_retry_timer_backs_off_then_starts_again(cause):
    run = Both([call('square-0-1', 0, delay=6)])
    [retry] = run.decide()
    assert attributes(retry)['timerId'] == 'square-0-1.retry'
    refused([retry], run.log, cause)
    [backoff] = run.decide()
    assert attributes(backoff)['timerId'] == 'square-0-1.backoff.1'
    # the back-off timer too is refused: the next one
    refused([backoff], run.log, cause)
    [backoff] = run.decide()
    assert attributes(backoff) == {'timerId': 'square-0-1.backoff.2',
                                   'startToFireTimeout': str(backoff_delay('square-0-1', 2))}
    applied([backoff], run.log)
    fire(run.log, 'square-0-1.backoff.2')
    assert run.decide() == [retry]  # what was refused starts again: the retry timer
    applied([retry], run.log)
    assert run.decide() == []
    fire(run.log, 'square-0-1.retry')
    [start] = run.decide()
    assert attributes(start)['activityId'] == 'square-0-1'


def test_a_call_refused_for_good_fails_and_waits_for_nothing():
    run = Both([call('square-0-0', 0), call('sub-0-0', 1)])
    first = run.decide()
    refused(first[:1], run.log, 'ACTIVITY_TYPE_DOES_NOT_EXIST')
    refused(first[1:], run.log, 'OPERATION_NOT_PERMITTED')
    assert run.decide() == []
    history = run.cached.history
    assert history.get('square-0-0').state is FAILED and history.get('sub-0-0').state is FAILED
    assert packer_of(run.cached).waiting == {} and packer_of(run.cached).sent == {}


def test_a_call_refused_too_often_fails():
    run = Both([call('square-0-0', 0)])
    decisions = run.decide()
    for number in range(1, MAX_REFUSALS):
        refused(decisions, run.log, 'ACTIVITY_CREATION_RATE_EXCEEDED')
        [timer] = run.decide()
        assert attributes(timer)['timerId'] == 'square-0-0.backoff.%d' % number
        applied([timer], run.log)
        fire(run.log, 'square-0-0.backoff.%d' % number)
        decisions = run.decide()
        assert attributes(decisions[0])['activityId'] == 'square-0-0'
    refused(decisions, run.log, 'ACTIVITY_CREATION_RATE_EXCEEDED')
    assert run.decide() == []
    outcome = run.cached.history.get('square-0-0')
    assert outcome.state is FAILED and 'SWF kept refusing it (10 times' in outcome.reason
    assert packer_of(run.cached).waiting == {}


def test_throttled_calls_go_out_in_call_order_within_the_limit():
    execution, log = execution_for()
    decisions = translate(Decision(many(3), more=True), execution=execution, call_limit=3)
    refused(decisions[:1], log, 'ACTIVITY_CREATION_RATE_EXCEEDED')
    applied(decisions[1:3], log)
    execution.feed(log.events)
    # the refused call waits for its back-off timer: it takes its place in the limit
    decisions = translate(Decision(many(3, start=3)), execution=execution, call_limit=3)
    assert scheduled(decisions) == ['square-0-0.backoff.1', 'square-3-0', 'square-4-0',
                                    WAKE_UP_TIMER_PREFIX + str(log.last_id)]
    assert list(packer_of(execution).backlog) == ['square-5-0']
    applied(decisions, log)
    fire(log, 'square-0-0.backoff.1')
    execution.feed(log.events)
    assert scheduled(translate(Decision([]), execution=execution, call_limit=3)) == [
        'square-0-0', 'square-5-0']


@pytest.mark.parametrize('held', [2, 3])
def test_an_outcome_waits_while_more_calls_are_held_back_than_the_limit(held):
    """The cached driver's body may end while calls it made wait for a back-off timer
    (or in the backlog); a replay, deciding them again, stops at its limit before the
    end if there are more of them than it allows: the response is the replay's.
    """
    execution, log = execution_for()
    decisions = translate(Decision(many(held)), execution=execution, call_limit=2)
    refused(decisions[:held], log, 'OPEN_ACTIVITIES_LIMIT_EXCEEDED')
    execution.feed(log.events)
    finish = Decision(outcome=Finish('1'))
    sent = translate(finish, execution=execution, call_limit=2)
    if held == 2:  # a replay decides both again, and ends: the run closes
        assert [d['decisionType'] for d in sent] == ['CompleteWorkflowExecution']
        return
    assert scheduled(sent) == ['square-0-0.backoff.1', 'square-1-0.backoff.1',
                               WAKE_UP_TIMER_PREFIX + str(log.last_id)]
    applied(sent, log)
    for key in ('square-0-0', 'square-1-0'):
        fire(log, key + '.backoff.1')
    execution.feed(log.events)
    sent = translate(finish, execution=execution, call_limit=2)
    assert scheduled(sent) == ['square-0-0', 'square-1-0',
                               WAKE_UP_TIMER_PREFIX + str(log.last_id)]
    applied(sent, log)
    execution.feed(log.events)
    # one is left: a replay decides it, and ends
    assert [d['decisionType'] for d in translate(finish, execution=execution,
                                                 call_limit=2)] == [
        'CompleteWorkflowExecution']


def test_a_back_off_timer_id_over_256_characters_fails_the_call():
    dep = 'd' * 248
    key = '%s-0-0' % dep
    execution, log = execution_for()
    log.schedule_activity_failed(key, 'ACTIVITY_CREATION_RATE_EXCEEDED', log.decision_round())
    execution.feed(log.events)
    [decision] = marked(translate(Decision([ScheduleCall(key, dep, 0, 0, 0, '[]')]),
                                  {dep: SQUARE}, execution=execution))
    reason = json.loads(attributes(decision)['details'])['reason']
    assert reason == 'the back-off timer id of %s is 262 characters; SWF allows 256' % key
    assert packer_of(execution).waiting == {}


# -- calls that cannot start ---------------------------------------------------------------


def test_fail_call_becomes_a_marker_the_history_reads_back():
    execution, log = execution_for()
    [decision] = marked(translate(
        Decision([FailCall('square-2-0', 'square', 4, 'cannot serialize')]),
        execution=execution))
    assert decision['decisionType'] == 'RecordMarker'
    marker = attributes(decision)
    assert marker['markerName'] == CALL_FAILED_MARKER
    assert json.loads(marker['details']) == {'key': 'square-2-0', 'position': 4,
                                             'reason': 'cannot serialize'}
    log.marker_recorded(marker['markerName'], marker['details'], log.decision_round())
    execution.feed(log.events)
    outcome = execution.history.get('square-2-0')
    assert (outcome.state, outcome.reason, outcome.position) == (FAILED, 'cannot serialize', 4)


def test_a_huge_fail_call_reason_is_cut_to_fit_the_marker():
    reason = 'é"\n' * 20000
    [decision] = marked(translate(Decision([FailCall('square-0-0', 'square', 0, reason)])))
    details = attributes(decision)['details']
    assert len(details) <= MAX_DATA
    assert json.loads(details)['reason'].endswith('[cut]')


def test_an_oversized_input_fails_the_call():
    big = 'x' * 40000
    decisions = translate(Decision([call('square-3-0', 7, big), call('square-4-0', 8),
                                    call('square-5-0', 9, 'y' * MAX_DATA)]))
    assert [d['decisionType'] for d in decisions] == [
        'RecordMarker', 'ScheduleActivityTask', 'ScheduleActivityTask', 'StartTimer']
    details = json.loads(attributes(decisions[0])['details'])
    assert details == {'key': 'square-3-0', 'position': 7,
                       'reason': 'input of square-3-0 is 40000 characters; SWF allows 32768'}


def test_an_oversized_input_of_a_delayed_call_fails_without_waiting():
    execution, _ = execution_for()
    [decision] = marked(translate(Decision([call('square-0-1', input='x' * 40000, delay=5)]),
                                  execution=execution))
    assert decision['decisionType'] == 'RecordMarker' and not packer_of(execution).waiting


def test_an_id_over_256_characters_fails_the_call():
    dep = 'd' * 260
    types = {dep: SQUARE}
    key = '%s-0-0' % dep
    [decision] = marked(translate(Decision([ScheduleCall(key, dep, 0, 0, 0, '[]')]), types))
    reason = json.loads(attributes(decision)['details'])['reason']
    assert reason == 'the activity id %s is 264 characters; SWF allows 256' % key


# -- outcomes ------------------------------------------------------------------------------


def test_finish():
    assert translate(Decision(outcome=Finish('[1,2]'))) == [{
        'decisionType': 'CompleteWorkflowExecution',
        'completeWorkflowExecutionDecisionAttributes': {'result': '[1,2]'}}]


def test_an_outcome_drops_nothing_else_to_do():
    execution, _ = execution_for()
    packer_of(execution).waiting['square-0-1'] = call('square-0-1', delay=3)
    decisions = translate(Decision(outcome=Finish('1')), execution=execution)
    assert [d['decisionType'] for d in decisions] == ['CompleteWorkflowExecution']


def test_an_oversized_result_fails_the_workflow():
    [decision] = translate(Decision(outcome=Finish('"%s"' % ('z' * MAX_DATA))))
    assert decision['decisionType'] == 'FailWorkflowExecution'
    assert attributes(decision)['reason'] == (
        'the result of the workflow is 32770 characters; SWF allows 32768')


def test_fail_cuts_the_reason_to_256_and_keeps_it_whole_in_details():
    reason = 'r' * 300 + 'END'
    [decision] = translate(Decision(outcome=Fail(reason)))
    fail = attributes(decision)
    assert fail['reason'] == reason[:MAX_REASON] and len(fail['reason']) == 256
    assert full_reason(fail['reason'], fail['details']) == reason
    [decision] = translate(Decision(outcome=Fail('q' * 40000)))
    assert len(attributes(decision)['details']) <= MAX_DATA


def test_a_short_fail_reason():
    [decision] = translate(Decision(outcome=Fail('boom')))
    assert attributes(decision) == {'reason': 'boom'}  # nothing more to say


def test_restart_carries_the_run_over():
    execution, _ = execution_for(name='Flow', version='4', task_list='deciders',
                                 child_policy='REQUEST_CANCEL', execution_timeout='900',
                                 task_timeout='NONE', tags=['t1', 't2'], lambda_role='role',
                                 task_priority='3')
    [decision] = translate(Decision(outcome=Restart('[[4],{}]')), execution=execution)
    assert decision == {
        'decisionType': 'ContinueAsNewWorkflowExecution',
        'continueAsNewWorkflowExecutionDecisionAttributes': {
            'input': '[[4],{}]',
            'taskList': {'name': 'deciders'},
            'taskPriority': '3',
            'taskStartToCloseTimeout': 'NONE',
            'executionStartToCloseTimeout': '900',
            'childPolicy': 'REQUEST_CANCEL',
            'tagList': ['t1', 't2'],
            'workflowTypeVersion': '4',
            'lambdaRole': 'role',
        }}


def test_restart_leaves_out_what_the_run_did_not_have():
    execution, _ = execution_for(execution_timeout=None, task_timeout=None)
    [decision] = translate(Decision(outcome=Restart('[[],{}]')), execution=execution)
    assert attributes(decision) == {'input': '[[],{}]', 'taskList': {'name': 'decider'},
                                    'childPolicy': 'TERMINATE', 'workflowTypeVersion': '1'}


def test_an_oversized_restart_input_fails_the_workflow():
    [decision] = translate(Decision(outcome=Restart('x' * 32769)))
    assert attributes(decision)['reason'] == (
        'the restart input of the workflow is 32769 characters; SWF allows 32768')


# -- the number of decisions ---------------------------------------------------------------


def many(count, start=0):
    return [call('square-%d-0' % number, number) for number in range(start, start + count)]


def test_at_most_one_hundred_decisions():
    assert MAX_DECISIONS == 100 and CALL_LIMIT == 99
    assert len(translate(Decision(many(100)))) == 100
    with pytest.raises(TooManyDecisions, match='limit=99'):
        translate(Decision(many(101)))
    with pytest.raises(TooManyDecisions):
        translate(Decision(many(100), more=True))
    with pytest.raises(TooManyDecisions):
        translate(Decision(many(11)), limit=10)


def test_more_calls_to_come_start_a_wake_up_timer():
    execution, _ = execution_for()
    decisions = translate(Decision(many(CALL_LIMIT), more=True), execution=execution)
    assert len(decisions) == MAX_DECISIONS
    assert decisions[-1] == {'decisionType': 'StartTimer', 'startTimerDecisionAttributes': {
        'timerId': WAKE_UP_TIMER_PREFIX + str(execution.last_event_id),
        'startToFireTimeout': '0'}}


def fire_retry_timers(execution, log, *keys):
    """The retry timers of ``keys`` start and fire; ``execution`` is fed the events."""
    completed = log.decision_round()
    for key in keys:
        log.timer_fired(key + '.retry', log.timer_started(key + '.retry', completed))
    execution.feed(log.events)


def scheduled(decisions):
    return [attributes(d).get('activityId') or attributes(d).get('timerId')
            for d in decisions]


def test_waiting_calls_go_out_in_call_order_within_the_limit():
    execution, log = execution_for()
    for number in range(3):
        key = 'square-%d-1' % number
        packer_of(execution).waiting[key] = call(key, number, delay=1)
    fire_retry_timers(execution, log, 'square-0-1', 'square-1-1', 'square-2-1')
    decisions = translate(Decision(many(97, start=10)), execution=execution)
    assert len(decisions) == MAX_DECISIONS
    assert scheduled(decisions)[:4] == ['square-0-1', 'square-1-1', 'square-2-1', 'square-10-0']
    assert scheduled(decisions)[-2] == 'square-105-0'
    assert attributes(decisions[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    assert list(packer_of(execution).backlog) == ['square-106-0']
    assert list(packer_of(execution).waiting) == ['square-0-1', 'square-1-1', 'square-2-1']
    # once SWF has them, they stop waiting; the backlog goes out next
    completed = log.decision_round()
    for d in decisions[:-1]:
        log.activity_scheduled(attributes(d)['activityId'], completed)
    execution.feed(log.events)
    assert scheduled(translate(Decision([]), execution=execution)) == ['square-106-0']
    assert packer_of(execution).waiting == {} and packer_of(execution).backlog == {}


def replayed_and_cached(driver_limit, calls, waiting, more):
    """What to_swf sends for the same run, decided by the replay and the cached driver.

    ``calls`` (new calls) and ``waiting`` (calls decided earlier, their retry timers
    fired) are (key, position) pairs; the replay driver decides the first
    ``driver_limit`` of them all again, in call order; the cached driver decided the
    waiting ones before, and ``calls[:driver_limit]`` now.
    """
    everything = sorted([call(key, position) for key, position in calls]
                        + [call(key, position, delay=1) for key, position in waiting],
                        key=lambda c: c.position)
    runs = []
    for driver in ('replay', 'cached'):
        execution, log = execution_for()
        for key, position in waiting:
            packer_of(execution).waiting[key] = call(key, position, delay=1)
        fire_retry_timers(execution, log, *[key for key, _ in waiting])
        if driver == 'replay':
            decided = everything[:driver_limit]
            stopped = more or len(everything) > driver_limit
        else:
            decided = [call(key, position) for key, position in calls][:driver_limit]
            stopped = more or len(calls) > driver_limit
        runs.append((translate(Decision(decided, more=stopped), execution=execution,
                               call_limit=driver_limit), execution))
    return runs


@pytest.mark.parametrize('more', [False, True])
def test_fired_retries_count_against_the_drivers_limit_as_under_replay(more):
    (replayed, replay_run), (cached, cached_run) = replayed_and_cached(
        2, [('square-3-0', 3), ('square-4-0', 4)], [('square-0-1', 0), ('square-5-1', 5)],
        more)
    assert replayed == cached
    assert scheduled(replayed)[:2] == ['square-0-1', 'square-3-0']
    assert attributes(replayed[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    # what the limit cut waits for the next response: the cached driver's call in the
    # backlog, the retry in packer_of(execution).waiting
    assert list(packer_of(cached_run).backlog) == ['square-4-0']
    assert 'square-5-1' in packer_of(cached_run).waiting
    assert packer_of(replay_run).backlog == {} and 'square-5-1' in packer_of(replay_run).waiting


def test_a_call_decided_again_is_sent_once():
    execution, log = execution_for()
    packer_of(execution).waiting['square-0-1'] = call('square-0-1', 0, delay=1)
    fire_retry_timers(execution, log, 'square-0-1')
    again = Decision([call('square-0-1', 0, delay=1), call('square-1-0', 1)])
    assert scheduled(translate(again, execution=execution)) == ['square-0-1', 'square-1-0']


def test_the_limit_is_learned_from_a_decision_that_stopped_at_it():
    execution, log = execution_for()
    assert packer_of(execution).call_limit is None
    translate(Decision(many(2), more=True), execution=execution)
    assert packer_of(execution).call_limit == 2
    completed = log.decision_round()
    log.activity_scheduled('square-0-0', completed, position=0)
    log.activity_timed_out(log.activity_scheduled('square-1-0', completed, position=1))
    packer_of(execution).waiting['square-1-1'] = call('square-1-1', 1, delay=1)
    fire_retry_timers(execution, log, 'square-1-1')
    # the retry comes first, and counts: one of the driver's two new calls waits
    decisions = translate(Decision(many(2, start=2)), execution=execution)
    assert scheduled(decisions)[:2] == ['square-1-1', 'square-2-0']
    assert attributes(decisions[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    assert list(packer_of(execution).backlog) == ['square-3-0']


def test_a_pending_retry_takes_its_place_in_the_limit_without_a_wake_up_timer():
    execution, log = execution_for()
    packer_of(execution).waiting['square-0-1'] = call('square-0-1', 0, delay=30)
    log.timer_started('square-0-1.retry', log.decision_round(), seconds='30')
    execution.feed(log.events)
    # as the replay driver decides it again: its place, and no decision (nor a wake-up
    # timer, which would only bring the same decision back until the retry timer fires)
    assert translate(Decision([call('square-1-0', 1)], more=True), execution=execution,
                     call_limit=1) == []
    assert list(packer_of(execution).backlog) == ['square-1-0']
    decisions = translate(Decision([call('square-2-0', 2)]), execution=execution, call_limit=2)
    assert scheduled(decisions)[0] == 'square-1-0'
    assert attributes(decisions[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)


def test_a_retry_timer_that_does_not_fit_waits_for_its_turn():
    execution, log = execution_for()
    big = call('square-0-0', 0, '[["%s"],{}]' % ('x' * 300))
    delayed = call('square-1-1', 1, delay=5)
    first = translate(Decision([big, delayed]), execution=execution, budget=560)
    assert scheduled(first) == ['square-0-0', WAKE_UP_TIMER_PREFIX + str(log.last_id)]
    assert packer_of(execution).backlog == {}
    assert list(packer_of(execution).waiting) == ['square-1-1']
    log.activity_scheduled('square-0-0', log.decision_round(), position=0)
    execution.feed(log.events)
    assert scheduled(translate(Decision([]), execution=execution)) == ['square-1-1.retry']


# -- round trips on a simulated SWF --------------------------------------------------------


def square(x):
    return x * x


def add(a, b):
    return a + b


class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


def sum_squares_config(retry=(0,)):
    config = WorkflowConfig(SumSquares)
    config._add_task(TaskSpec('square', ACTIVITY, None, retry=retry))
    config._add_task(TaskSpec('add', ACTIVITY, None))
    return config


SUM_TYPES = {'square': TaskType('activity', 'square', '1', start_to_close=60),
             'add': TaskType('activity', 'add', '1', task_list='adders')}
ACTIVITIES = {'square': square, 'add': add}


@pytest.mark.parametrize('driver', ['replay', 'cached', 'fresh'])
@pytest.mark.parametrize('page_size', [None, 1, 3])
def test_round_trip_sum_squares(driver, page_size):
    config = sum_squares_config()
    sim = SimulatedSWF(config._encode_input([6], {}), activities=ACTIVITIES)
    run_on_swf(config, SUM_TYPES, sim, driver=CachedDriver() if driver == 'cached' else replay,
               page_size=page_size, fresh=driver == 'fresh')
    assert result_of(sim) == sum(i * i for i in range(6))
    first = sim.responses[0]
    assert [attributes(d)['activityId'] for d in first] == ['square-%d-0' % i for i in range(6)]


@pytest.mark.parametrize('driver', ['replay', 'cached', 'fresh'])
def test_round_trip_retries_through_timers(driver):
    config = sum_squares_config(retry=(0, 2.5, 7))
    sim = SimulatedSWF(config._encode_input([4], {}), activities=ACTIVITIES,
                       time_out={'square-1-0', 'square-1-1', 'square-3-0'})
    execution = run_on_swf(config, SUM_TYPES, sim,
                           driver=CachedDriver() if driver == 'cached' else replay,
                           fresh=driver == 'fresh')
    assert result_of(sim) == 0 + 1 + 4 + 9
    timers = [attributes(d) for response in sim.responses for d in response
              if d['decisionType'] == 'StartTimer']
    assert timers == [{'timerId': 'square-1-1.retry', 'startToFireTimeout': '3'},
                      {'timerId': 'square-3-1.retry', 'startToFireTimeout': '3'},
                      {'timerId': 'square-1-2.retry', 'startToFireTimeout': '7'}]
    assert execution.history.get('square-1-2').data == '1'
    assert execution.timer_fired('square-1-2')


def test_round_trip_retries_run_out():
    config = sum_squares_config(retry=(0, 1))
    sim = SimulatedSWF(config._encode_input([2], {}), activities=ACTIVITIES,
                       time_out={'square-1-0', 'square-1-1'})
    run_on_swf(config, SUM_TYPES, sim)
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert fail['reason'] == 'square-1 timed out on all 2 attempts: START_TO_CLOSE timeout'


def test_replay_and_cached_drivers_send_the_same_decisions():
    runs = []
    for driver in (replay, CachedDriver()):
        config = sum_squares_config(retry=(0, 1, 1))
        sim = SimulatedSWF(config._encode_input([7], {}), activities=ACTIVITIES, reverse=True,
                           time_out={'square-2-0', 'square-5-0', 'square-5-1'},
                           fail={'square-6-0': 'no'})
        run_on_swf(config, SUM_TYPES, sim, driver=driver, page_size=5)
        runs.append(sim.responses)
    assert runs[0] == runs[1]
    assert runs[0][-1][0]['decisionType'] == 'FailWorkflowExecution'


class WithChildren:
    def __init__(self, sub, square):
        self.sub = sub
        self.square = square

    def __call__(self, n):
        results = [self.sub(i) for i in range(n)]
        return self.square(sum(wait(result) for result in results))


def test_round_trip_child_workflows():
    config = WorkflowConfig(WithChildren)
    config._add_task(TaskSpec('sub', WORKFLOW, None))
    config._add_task(TaskSpec('square', ACTIVITY, None))
    types = {'sub': TaskType('workflow', 'Sub', '2', workflow_duration=600, child_policy='abandon'),
             'square': SQUARE}
    sim = SimulatedSWF(config._encode_input([3], {}), workflow_id='batch-12',
                       activities={'square': square}, children={'Sub': lambda i: i + 10})
    execution = run_on_swf(config, types, sim)
    assert result_of(sim) == (10 + 11 + 12) ** 2
    started = [attributes(d) for d in sim.responses[0]]
    assert [a['workflowId'] for a in started] == ['batch-12.sub-0-0', 'batch-12.sub-1-0',
                                                  'batch-12.sub-2-0']
    assert started[0]['childPolicy'] == 'ABANDON'
    assert execution.child_key('batch-12.sub-2-0') == 'sub-2-0'


class Countdown:
    def __init__(self, square):
        self.square = square

    def __call__(self, n, total=0):
        total = total + wait(self.square(n))
        if n > 1:
            return restart(n - 1, total=total)
        return total


def test_round_trip_continue_as_new_carries_the_run_over():
    config = WorkflowConfig(Countdown)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    start = dict(name='Countdown', version='5', task_list='deciders', child_policy='ABANDON',
                 execution_timeout='7200', task_timeout='30', tags=['nightly'],
                 lambda_role='arn-role')
    sim = SimulatedSWF(config._encode_input([3], {}), activities={'square': square}, **start)
    run_on_swf(config, {'square': SQUARE}, sim)
    kind, attributes_ = sim.closed
    assert kind == 'ContinueAsNewWorkflowExecution'
    assert attributes_ == {'input': config._encode_input([2], {'total': 9}),
                           'taskList': {'name': 'deciders'},
                           'taskStartToCloseTimeout': '30',
                           'executionStartToCloseTimeout': '7200',
                           'childPolicy': 'ABANDON', 'tagList': ['nightly'],
                           'workflowTypeVersion': '5', 'lambdaRole': 'arn-role'}
    # the next run starts with that input, and so on until the end
    total_runs = 1
    while sim.closed[0] == 'ContinueAsNewWorkflowExecution':
        sim = SimulatedSWF(sim.closed[1]['input'], activities={'square': square}, **start)
        run_on_swf(config, {'square': SQUARE}, sim)
        total_runs += 1
    assert total_runs == 3 and result_of(sim) == 9 + 4 + 1


class Fanout:
    def __init__(self, square):
        self.square = square

    def __call__(self, n):
        return sum(wait(result) for result in [self.square(i) for i in range(n)])


@pytest.mark.parametrize('driver', ['replay', 'cached'])
def test_round_trip_more_calls_than_a_response_holds(driver):
    config = WorkflowConfig(Fanout)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    sim = SimulatedSWF(config._encode_input([250], {}), activities={'square': square})
    run_on_swf(config, {'square': SQUARE}, sim,
               driver=CachedDriver() if driver == 'cached' else replay)
    assert result_of(sim) == sum(i * i for i in range(250))
    assert all(len(response) <= MAX_DECISIONS for response in sim.responses)
    first = sim.responses[0]
    assert len(first) == MAX_DECISIONS
    assert attributes(first[-1])['timerId'].startswith(WAKE_UP_TIMER_PREFIX)
    scheduled = [attributes(d)['activityId'] for response in sim.responses for d in response
                 if d['decisionType'] == 'ScheduleActivityTask']
    assert scheduled == ['square-%d-0' % i for i in range(250)]


class Careful:
    def __init__(self, square):
        self.square = square

    def __call__(self, size):
        results = [self.square(object()), self.square('x' * size), self.square(3)]
        caught = []
        for result in results[:2]:
            try:
                wait(result)
            except TaskError as error:
                caught.append(str(error))
        return caught, wait(results[2])


def test_round_trip_calls_that_cannot_start_fail_through_markers():
    config = WorkflowConfig(Careful)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    sim = SimulatedSWF(config._encode_input([40000], {}), activities={'square': square})
    run_on_swf(config, {'square': SQUARE}, sim)
    caught, nine = result_of(sim)
    assert nine == 9
    # the error names the call, and no type: no task ran
    assert caught[0].startswith('square-0-0 failed: cannot serialize the input of square-0-0')
    size = len(config.transport.dumps([['x' * 40000], {}]))
    assert caught[1] == ('square-1-0 failed: input of square-1-0 is %d characters; SWF allows '
                         '32768' % size)
    markers = [d for d in sim.responses[0] if d['decisionType'] == 'RecordMarker']
    assert len(markers) == 2


# -- round trips with a busy SWF (throttled starts) ----------------------------------------

THROTTLE = {'square-0-0': 2, 'square-2-0': ['OPEN_ACTIVITIES_LIMIT_EXCEEDED'],
            'square-1-1.retry': 1, 'square-1-1.backoff.1': 1, 'add-0-0': 1}


def throttled_run(driver, throttle=THROTTLE, n=4):
    config = sum_squares_config(retry=(0, 2))
    sim = SimulatedSWF(config._encode_input([n], {}), activities=ACTIVITIES,
                       time_out={'square-1-0'}, throttle=throttle)
    execution = run_on_swf(config, SUM_TYPES, sim,
                           driver=CachedDriver() if driver == 'cached' else replay,
                           fresh=driver == 'fresh')
    return sim, execution


@pytest.mark.parametrize('driver', ['replay', 'cached', 'fresh'])
def test_round_trip_throttled_starts_back_off_and_start_again(driver):
    sim, execution = throttled_run(driver)
    assert result_of(sim) == 0 + 1 + 4 + 9
    assert sim.refused == [('square-0-0', 'ACTIVITY_CREATION_RATE_EXCEEDED'),
                           ('square-2-0', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED'),
                           ('square-1-1.retry', 'TIMER_CREATION_RATE_EXCEEDED'),
                           ('square-0-0', 'ACTIVITY_CREATION_RATE_EXCEEDED'),
                           ('square-1-1.backoff.1', 'TIMER_CREATION_RATE_EXCEEDED'),
                           ('add-0-0', 'ACTIVITY_CREATION_RATE_EXCEEDED')]
    assert [scheduled(response) for response in sim.responses[:6]] == [
        ['square-0-0', 'square-1-0', 'square-2-0', 'square-3-0'],
        ['square-0-0.backoff.1', 'square-1-1.retry', 'square-2-0.backoff.1'],
        ['square-0-0', 'square-1-1.backoff.1', 'square-2-0'],
        ['square-0-0.backoff.2', 'square-1-1.backoff.2', 'add-0-0'],
        ['square-0-0', 'square-1-1.retry', 'add-0-0.backoff.1'],
        ['square-1-1', 'add-0-0']]
    delays = {attributes(d)['timerId']: attributes(d)['startToFireTimeout']
              for response in sim.responses for d in response
              if d['decisionType'] == 'StartTimer'}
    assert delays['square-0-0.backoff.2'] == str(backoff_delay('square-0-0', 2))
    for response in sim.responses:  # never a wake-up timer: the back-off timers wake up
        assert not [d for d in response if attributes(d).get('timerId', '').startswith(
            WAKE_UP_TIMER_PREFIX)]
    assert execution.refusals('square-0-0') == 2 and execution.refusals('square-1-1') == 2
    assert packer_of(execution).waiting == {} and packer_of(execution).backlog == {}
    # (the last calls sent are still there: the decision that closed the run looks no more)
    assert all(execution.history.get(key) is not None for key in packer_of(execution).sent)


def test_round_trip_throttled_starts_send_the_same_with_every_driver():
    runs = [throttled_run(driver)[0].responses for driver in ('replay', 'cached', 'fresh')]
    assert runs[0] == runs[1] == runs[2]


def test_round_trip_a_start_refused_too_often_fails_the_call():
    sim, _ = throttled_run('cached', throttle={'square-3-0': MAX_REFUSALS})
    kind, fail = sim.closed
    assert kind == 'FailWorkflowExecution'
    assert fail['reason'] == ('square-3-0 failed: the activity square (version 1) could not '
                              'be scheduled: '
                              'ACTIVITY_CREATION_RATE_EXCEEDED; SWF kept refusing it '
                              '(10 times, backing off in between)')
    assert len(sim.refused) == MAX_REFUSALS


def test_round_trip_throttled_child_workflows():
    config = WorkflowConfig(WithChildren)
    config._add_task(TaskSpec('sub', WORKFLOW, None))
    config._add_task(TaskSpec('square', ACTIVITY, None))
    types = {'sub': SUB, 'square': SQUARE}
    runs = []
    for driver in (replay, CachedDriver()):
        sim = SimulatedSWF(config._encode_input([3], {}), workflow_id='batch-12',
                           activities={'square': square}, children={'Sub': lambda i: i + 10},
                           throttle={'sub-1-0': ['OPEN_CHILDREN_LIMIT_EXCEEDED',
                                                 'OPEN_WORKFLOWS_LIMIT_EXCEEDED'],
                                     'batch-12.sub-2-0': 1})
        execution = run_on_swf(config, types, sim, driver=driver)
        assert result_of(sim) == (10 + 11 + 12) ** 2
        assert [name for name, _ in sim.refused] == ['batch-12.sub-1-0', 'batch-12.sub-2-0',
                                                     'batch-12.sub-1-0']
        assert execution.child_key('batch-12.sub-1-0') == 'sub-1-0'
        runs.append(sim.responses)
    assert runs[0] == runs[1]


class Generations:
    """A child per run, continued as new: the children of every run must differ."""

    def __init__(self, sub):
        self.sub = sub

    def __call__(self, n, total=0):
        total = total + wait(self.sub(n))
        if n > 1:
            return restart(n - 1, total=total)
        return total


def test_round_trip_children_of_continued_runs_have_distinct_ids():
    config = WorkflowConfig(Generations)
    config._add_task(TaskSpec('sub', WORKFLOW, None))
    types = {'sub': TaskType('workflow', 'Sub', '2', child_policy='abandon')}
    ids = []
    input_data, continued_from = config._encode_input([3], {}), None
    while True:
        sim = SimulatedSWF(input_data, workflow_id='nightly', children={'Sub': lambda i: i},
                           continued_from=continued_from)
        execution = run_on_swf(config, types, sim)
        [workflow_id] = [attributes(d)['workflowId'] for response in sim.responses
                         for d in response if d['decisionType'] == 'StartChildWorkflowExecution']
        assert execution.child_key(workflow_id) == 'sub-0-0'
        ids.append(workflow_id)
        if sim.closed[0] != 'ContinueAsNewWorkflowExecution':
            break
        # SWF starts the next run with the id of this one as continuedExecutionRunId
        input_data, continued_from = sim.closed[1]['input'], 'run-%d' % len(ids)
    assert result_of(sim) == 3 + 2 + 1
    assert ids == ['nightly.sub-0-0', 'nightly.%s.sub-0-0' % run_tag('run-1'),
                   'nightly.%s.sub-0-0' % run_tag('run-2')]
