"""flowy.swf.history: SWF history events (as boto3 returns them) into a flowy History.

Events come from the EventLog helper, whose field names are checked here against
botocore's SWF service model.  Every way a task can end is an outcome: nothing waits
forever (the original flowy ignored cancellations, terminations and StartTimerFailed).
"""

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swf_events import EventLog, attributes_name, check_event, pages, swf_shapes

from flowy.config import ACTIVITY, TaskSpec, WorkflowConfig
from flowy.decision import Decision, ScheduleCall
from flowy.drivers.replay import replay
from flowy.errors import TaskError, TaskTimedout
from flowy.history import CANCELLED, COMPLETED, FAILED, RUNNING, TIMEDOUT
from flowy.serialization import dumps, loads
from flowy.swf.events import HistoryError, MissingEvents, attributes_key
from flowy.swf.failures import failure_fields
from flowy.swf.history import MAX_REFUSALS, THROTTLE_CAUSES, ExecutionHistory, SWFFailure
from flowy.swf.names import (
    BACKOFF_CAP,
    CALL_FAILED_MARKER,
    backoff_delay,
    backoff_timer_id,
    backoff_timer_key,
    child_key_of,
    child_workflow_id,
    retry_timer_id,
    retry_timer_key,
    run_tag,
)


def started_log(**start):
    log = EventLog()
    log.workflow_started(**start)
    return log, log.decision_round()


def fed(log, workflow_id='order-7'):
    execution = ExecutionHistory(workflow_id)
    execution.feed(log.events)
    return execution


def state(execution, key):
    outcome = execution.history.get(key)
    return None if outcome is None else outcome.state


def snapshot(execution):
    """Everything a driver can read from the History, plus the engine's own state."""
    history = execution.history
    outcomes = {key: (o.state, o.position, o.data, o.reason, o.order,
                      type(o.cause).__name__, getattr(o.cause, 'cause', None))
                for key, o in history._outcomes.items()}
    return (outcomes, history.finished_since(0), history.positions(),
            sorted(execution._pending_timers), sorted(execution._fired_timers),
            sorted(execution._refusals.items()), execution.cancel_requested,
            execution.event_count, execution.last_event_id, execution.input,
            execution.task_list)


# -- the helper and the model --------------------------------------------------------------


def test_the_pure_modules_and_the_command_do_not_import_boto3():
    code = ('import sys, flowy.swf, flowy.swf.history, flowy.swf.decisions, flowy.swf.packer, '
            'flowy.swf.events, flowy.swf.names, flowy.swf.types, flowy.swf.cli\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")))')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]'


def test_attributes_key_is_the_models_name_for_every_event_type():
    shapes = swf_shapes()
    if shapes is None:
        pytest.skip('botocore is not installed')
    members = set(shapes['HistoryEvent']['members'])
    for event_type in shapes['EventType']['enum']:
        assert attributes_key(event_type) in members, event_type
        assert attributes_name(event_type) == attributes_key(event_type)


def every_kind_of_event():
    log, completed = started_log(input='[[3],{}]', tags=['a'], lambda_role='arn-role',
                                 continued_from='run-0', task_priority='2')
    scheduled = log.activity_scheduled('square-0-0', completed, position=0,
                                       scheduleToCloseTimeout='60', heartbeatTimeout='NONE')
    log.activity_completed(scheduled, result='9')
    for key, finish in (('a-0-0', 'failed'), ('b-0-0', 'timed_out'), ('c-0-0', 'canceled')):
        scheduled = log.activity_scheduled(key, completed, position=1)
        if finish == 'canceled':
            requested = log.activity_cancel_requested(key, log.decision_round())
            log.activity_canceled(scheduled, details='stop', cancel_requested=requested)
        else:
            getattr(log, 'activity_' + finish)(scheduled)
    log.schedule_activity_failed('d-0-0', 'ACTIVITY_TYPE_DOES_NOT_EXIST', completed)
    for number, finish in enumerate(('completed', 'failed', 'timed_out', 'canceled',
                                     'terminated')):
        key = 'sub-%d-0' % number
        initiated = log.child_initiated(key, completed, child_workflow_id('order-7', key),
                                        position=10 + number)
        getattr(log, 'child_' + finish)(initiated)
    log.start_child_failed('order-7.sub-9-0', 'WORKFLOW_TYPE_DOES_NOT_EXIST', completed,
                           control=json.dumps({'key': 'sub-9-0', 'position': 19}))
    timer = log.timer_started('e-0-1.retry', completed)
    log.timer_fired('e-0-1.retry', timer)
    timer = log.timer_started('f-0-1.retry', completed)
    log.timer_canceled('f-0-1.retry', timer, log.decision_round())
    log.start_timer_failed('g-0-1.retry', 'OPERATION_NOT_PERMITTED', completed)
    log.schedule_activity_failed('i-0-0', 'ACTIVITY_CREATION_RATE_EXCEEDED', completed)
    log.start_child_failed('order-7.sub-8-0', 'CHILD_CREATION_RATE_EXCEEDED', completed,
                           control=json.dumps({'key': 'sub-8-0', 'position': 18}))
    timer = log.timer_started('i-0-0.backoff.1', completed)
    log.timer_fired('i-0-0.backoff.1', timer)
    log.marker_recorded(CALL_FAILED_MARKER, json.dumps(
        {'key': 'h-0-0', 'position': 30, 'reason': 'cannot serialize'}), completed)
    log.record_marker_failed('other', completed)
    log.signaled('poke', input='1')
    scheduled = log.decision_scheduled()
    log.decision_timed_out(scheduled, log.decision_started(scheduled))
    log.cancel_requested()
    return log


def test_every_event_the_helper_makes_fits_the_swf_model():
    if swf_shapes() is None:
        pytest.skip('botocore is not installed')
    log = every_kind_of_event()
    log.workflow_completed(log.decision_round(), result='1')
    log.workflow_failed(log.decision_round(), reason='r', details='d')
    log.continued_as_new(log.decision_round(), {'input': '[[],{}]'})
    for event in log.events:
        check_event(event)


def test_a_history_with_every_kind_of_event():
    execution = fed(every_kind_of_event())
    history = execution.history
    expected = {
        'square-0-0': COMPLETED, 'a-0-0': FAILED, 'b-0-0': TIMEDOUT, 'c-0-0': CANCELLED,
        'd-0-0': FAILED, 'sub-0-0': COMPLETED, 'sub-1-0': FAILED, 'sub-2-0': TIMEDOUT,
        'sub-3-0': CANCELLED, 'sub-4-0': FAILED, 'sub-9-0': FAILED, 'f-0-1': FAILED,
        'g-0-1': FAILED, 'h-0-0': FAILED}
    assert {key: state(execution, key) for key in expected} == expected
    # the order of the events (the signal comes last)
    assert history.finished_since(0) == list(expected) + ['@signal-poke-0']
    assert history.get('@signal-poke-0').data == '1'
    assert history.get('square-0-0').data == '9'
    assert execution.timer_fired('e-0-1') and not execution.timer_pending('e-0-1')
    # throttled starts are no outcomes: they are counted, and wait for a back-off
    assert state(execution, 'i-0-0') is None and state(execution, 'sub-8-0') is None
    assert execution.refusals('i-0-0') == execution.refusals('sub-8-0') == 1
    assert execution.backoff_fired('i-0-0') and not execution.backoff_fired('sub-8-0')
    assert execution.cancel_requested
    assert execution.event_count == execution.last_event_id == len(every_kind_of_event().events)
    # nothing is left running: every task that started also ended
    assert not [key for key, outcome in history._outcomes.items() if outcome.state is RUNNING]


# -- start information ---------------------------------------------------------------------


def test_start_information():
    parent = {'workflowId': 'parent-1', 'runId': 'run-p'}
    log, _ = started_log(input='[[5],{}]', name='SumSquares', version='3', task_list='deciders',
                         child_policy='ABANDON', execution_timeout='600', task_timeout='NONE',
                         task_priority='7', tags=['x', 'y'], lambda_role='role',
                         continued_from='run-1', parent=parent)
    execution = fed(log)
    assert execution.started
    assert (execution.workflow_name, execution.workflow_version) == ('SumSquares', '3')
    assert execution.input == '[[5],{}]'
    assert execution.task_list == 'deciders'
    assert execution.task_priority == '7'
    assert execution.task_start_to_close_timeout == 'NONE'
    assert execution.execution_start_to_close_timeout == '600'
    assert execution.tag_list == ['x', 'y']
    assert execution.child_policy == 'ABANDON'
    assert execution.lambda_role == 'role'
    assert execution.continued_execution_run_id == 'run-1'
    assert execution.parent_workflow_execution == parent
    assert execution.workflow_id == 'order-7'


def test_optional_start_information_is_none_and_tags_empty():
    log, _ = started_log(execution_timeout=None, task_timeout=None)
    execution = fed(log)
    assert execution.input is None
    assert execution.tag_list == []
    assert execution.lambda_role is None and execution.continued_execution_run_id is None
    assert execution.execution_start_to_close_timeout is None


def test_before_the_start_event_nothing_is_known():
    execution = ExecutionHistory()
    assert not execution.started and execution.input is None
    assert execution.event_count == execution.last_event_id == 0
    assert execution.workflow_id is None


# -- activities ----------------------------------------------------------------------------


def test_activity_scheduled_and_completed():
    log, completed = started_log()
    scheduled = log.activity_scheduled('square-3-0', completed, position=4)
    execution = fed(log)
    assert state(execution, 'square-3-0') is RUNNING
    assert execution.history.get('square-3-0').position == 4
    assert execution.history.call_at(4) == 'square-3'
    log.activity_completed(scheduled, result='[1,2]')
    execution.feed(log.events)
    outcome = execution.history.get('square-3-0')
    assert (outcome.state, outcome.data, outcome.order) == (COMPLETED, '[1,2]', 0)


def test_a_completion_without_a_result_is_json_null():
    log, completed = started_log()
    log.activity_completed(log.activity_scheduled('square-0-0', completed, position=0))
    outcome = fed(log).history.get('square-0-0')
    assert outcome.data == 'null' and loads(outcome.data) is None


@pytest.mark.parametrize('control', [None, '', 'not json', '[1]', '"x"', '{"position": "1"}',
                                     '{"position": -1}', '{"position": true}', '{"key": 1}',
                                     '{"position": 1.0}'])
def test_missing_or_invalid_control_leaves_no_position(control):
    log, completed = started_log()
    log.activity_scheduled('square-0-0', completed, control=control)
    execution = fed(log)
    assert state(execution, 'square-0-0') is RUNNING
    assert execution.history.get('square-0-0').position is None
    assert execution.history.calls() == 0


def test_activity_failed_keeps_reason_and_details():
    log, completed = started_log()
    log.activity_failed(log.activity_scheduled('a-0-0', completed, position=0),
                        reason='bad input', details='Traceback ...')
    outcome = fed(log).history.get('a-0-0')
    assert (outcome.state, outcome.reason) == (FAILED, 'bad input')
    assert isinstance(outcome.cause, SWFFailure)
    assert outcome.cause.details == 'Traceback ...'
    assert outcome.cause.event_type == 'ActivityTaskFailed'


def test_activity_failed_without_reason():
    log, completed = started_log()
    log.activity_failed(log.activity_scheduled('a-0-0', completed, position=0))
    assert fed(log).history.get('a-0-0').reason == 'the activity failed'


def test_a_reason_cut_to_256_is_whole_again_from_the_details():
    full = 'x' * 300 + ' the end'
    log, completed = started_log()
    log.activity_failed(log.activity_scheduled('a-0-0', completed, position=0),
                        reason=full[:256], details=full)
    log.activity_failed(log.activity_scheduled('b-0-0', completed, position=1),
                        reason='short', details='unrelated details')
    execution = fed(log)
    assert execution.history.get('a-0-0').reason == full
    assert execution.history.get('b-0-0').reason == 'short'


@pytest.mark.parametrize('timeout_type', ['START_TO_CLOSE', 'SCHEDULE_TO_START',
                                          'SCHEDULE_TO_CLOSE', 'HEARTBEAT'])
def test_activity_timeouts(timeout_type):
    log, completed = started_log()
    log.activity_timed_out(log.activity_scheduled('a-0-0', completed, position=0),
                           timeout_type=timeout_type)
    outcome = fed(log).history.get('a-0-0')
    assert (outcome.state, outcome.reason) == (TIMEDOUT, '%s timeout' % timeout_type)


def test_activity_cancelled_on_request_is_cancelled_at_the_request():
    log, completed = started_log()
    scheduled = log.activity_scheduled('a-0-0', completed, position=0)
    requested = log.activity_cancel_requested('a-0-0', log.decision_round())
    log.activity_canceled(scheduled, details='operator', cancel_requested=requested)
    outcome = fed(log).history.get('a-0-0')
    assert (outcome.state, outcome.reason) == (CANCELLED, 'a-0 was cancelled')


def test_activity_cancelled_without_a_request_is_cancelled():
    log, completed = started_log()
    scheduled = log.activity_scheduled('a-0-0', completed, position=0)
    log.activity_canceled(scheduled, details='operator')
    outcome = fed(log).history.get('a-0-0')
    assert (outcome.state, outcome.reason) == (CANCELLED, 'the activity was cancelled: operator')


@pytest.mark.parametrize('cause', ['ACTIVITY_TYPE_DOES_NOT_EXIST', 'ACTIVITY_TYPE_DEPRECATED',
                                   'DEFAULT_TASK_LIST_UNDEFINED', 'OPERATION_NOT_PERMITTED',
                                   'DEFAULT_SCHEDULE_TO_CLOSE_TIMEOUT_UNDEFINED'])
def test_schedule_activity_failed(cause):
    log, completed = started_log()
    log.schedule_activity_failed('square-2-0', cause, completed, name='square', version='7')
    outcome = fed(log).history.get('square-2-0')
    assert outcome.state is FAILED
    assert outcome.reason == 'the activity square (version 7) could not be scheduled: ' + cause
    assert outcome.cause.cause == cause and outcome.position is None


def test_a_refused_repeat_of_a_scheduled_activity_is_ignored():
    log, completed = started_log()
    scheduled = log.activity_scheduled('a-0-0', completed, position=0)
    log.schedule_activity_failed('a-0-0', 'ACTIVITY_ID_ALREADY_IN_USE', log.decision_round())
    execution = fed(log)
    assert state(execution, 'a-0-0') is RUNNING
    log.activity_completed(scheduled, result='1')
    execution.feed(log.events)
    assert state(execution, 'a-0-0') is COMPLETED


def test_a_second_schedule_of_a_known_key_does_not_replace_its_outcome():
    log, completed = started_log()
    first = log.activity_scheduled('a-0-0', completed, position=0)
    log.activity_completed(first, result='1')
    again = log.activity_scheduled('a-0-0', log.decision_round(), position=0)
    log.activity_completed(again, result='2')
    outcome = fed(log).history.get('a-0-0')
    assert (outcome.state, outcome.data) == (COMPLETED, '1')


# -- child workflows -----------------------------------------------------------------------


def test_child_workflow_initiated_and_completed():
    log, completed = started_log()
    workflow_id = child_workflow_id('order-7', 'sub-0-0')
    assert workflow_id == 'order-7.sub-0-0'
    initiated = log.child_initiated('sub-0-0', completed, workflow_id, position=2)
    execution = fed(log)
    assert state(execution, 'sub-0-0') is RUNNING
    assert execution.history.get('sub-0-0').position == 2
    assert execution.child_key(workflow_id) == 'sub-0-0'
    log.child_completed(initiated, result='"done"')
    execution.feed(log.events)
    assert execution.history.get('sub-0-0').data == '"done"'


def test_child_completed_without_result():
    log, completed = started_log()
    log.child_completed(log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0', position=0))
    assert fed(log).history.get('sub-0-0').data == 'null'


def test_child_key_from_the_workflow_id_when_control_is_missing():
    log, completed = started_log()
    log.child_initiated('ignored', completed, 'order-7.sub-4-1', control=None)
    execution = fed(log)
    assert state(execution, 'sub-4-1') is RUNNING
    assert execution.history.get('sub-4-1').position is None


@pytest.mark.parametrize('finish, expected_state, reason', [
    ('failed', FAILED, 'the child workflow failed'),
    ('timed_out', TIMEDOUT, 'START_TO_CLOSE timeout'),
    ('canceled', CANCELLED, 'the child workflow was cancelled'),
    ('terminated', FAILED, 'the child workflow was terminated'),
])
def test_a_child_never_stays_running(finish, expected_state, reason):
    log, completed = started_log()
    getattr(log, 'child_' + finish)(log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0',
                                                        position=0))
    outcome = fed(log).history.get('sub-0-0')
    assert (outcome.state, outcome.reason) == (expected_state, reason)


def test_child_failed_with_reason_and_details():
    log, completed = started_log()
    initiated = log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0', position=0)
    full = 'y' * 400
    log.child_failed(initiated, reason=full[:256], details=full)
    outcome = fed(log).history.get('sub-0-0')
    assert outcome.reason == full and outcome.cause.event_type == 'ChildWorkflowExecutionFailed'


def test_start_child_failed_without_initiated_event():
    log, completed = started_log()
    log.start_child_failed('order-7.sub-1-0', 'WORKFLOW_TYPE_DOES_NOT_EXIST', completed,
                           control=json.dumps({'key': 'sub-1-0', 'position': 3}), name='Sub',
                           version='2')
    outcome = fed(log).history.get('sub-1-0')
    assert outcome.state is FAILED
    assert outcome.reason == ('the child workflow Sub (version 2) could not be started: '
                              'WORKFLOW_TYPE_DOES_NOT_EXIST')
    assert outcome.position == 3 and outcome.cause.cause == 'WORKFLOW_TYPE_DOES_NOT_EXIST'


def test_start_child_failed_without_control_uses_the_workflow_id():
    log, completed = started_log()
    log.start_child_failed('order-7.sub-1-0', 'DEFAULT_CHILD_POLICY_UNDEFINED', completed)
    log.start_child_failed('order-7.0a1b2c3d.sub-2-0', 'WORKFLOW_TYPE_DEPRECATED', completed)
    log.start_child_failed('order-7.0a1b2c3d.sub-3-0', 'OPEN_CHILDREN_LIMIT_EXCEEDED',
                           completed)
    execution = fed(log)
    assert state(execution, 'sub-1-0') is FAILED and state(execution, 'sub-2-0') is FAILED
    assert state(execution, 'sub-3-0') is None and execution.refusals('sub-3-0') == 1


def test_start_child_failed_after_initiated_when_already_running():
    log, completed = started_log()
    initiated = log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0', position=0)
    log.start_child_failed('order-7.sub-0-0', 'WORKFLOW_ALREADY_RUNNING', log.decision_round(),
                           initiated=initiated)
    outcome = fed(log).history.get('sub-0-0')
    assert outcome.state is FAILED and 'WORKFLOW_ALREADY_RUNNING' in outcome.reason
    assert outcome.position == 0


def test_a_repeated_child_start_is_ignored():
    log, completed = started_log()
    first = log.child_initiated('sub-0-0', completed, 'order-7.sub-0-0', position=0)
    again = log.child_initiated('sub-0-0', log.decision_round(), 'order-7.sub-0-0', position=0)
    log.start_child_failed('order-7.sub-0-0', 'WORKFLOW_ALREADY_RUNNING', log.decision_round(),
                           initiated=again)
    execution = fed(log)
    assert state(execution, 'sub-0-0') is RUNNING
    log.child_completed(first, result='5')
    execution.feed(log.events)
    assert execution.history.get('sub-0-0').data == '5'


def test_long_parent_ids_give_child_ids_within_256_characters():
    parent = 'p' * 250
    workflow_id = child_workflow_id(parent, 'sub-0-0')
    assert len(workflow_id) <= 256 and workflow_id.endswith('.sub-0-0')
    assert workflow_id == child_workflow_id(parent, 'sub-0-0')
    assert workflow_id != child_workflow_id('q' * 250, 'sub-0-0')


# -- child workflow ids across continue-as-new ---------------------------------------------


def test_a_continued_run_tags_its_child_ids():
    assert run_tag(None) is None and run_tag('') is None
    tag = run_tag('run-1')
    assert len(tag) == 8 and int(tag, 16) >= 0 and tag == run_tag('run-1')
    assert tag != run_tag('run-2')
    assert child_workflow_id('order-7', 'sub-0-0') == 'order-7.sub-0-0'  # a first run
    assert child_workflow_id('order-7', 'sub-0-0', tag) == 'order-7.%s.sub-0-0' % tag
    assert child_workflow_id('order-7', 'sub-0-0', None) == 'order-7.sub-0-0'


def test_the_run_tag_comes_from_the_start_event():
    assert fed(started_log()[0]).run_tag is None
    execution = fed(started_log(continued_from='22ab9c')[0])
    assert execution.continued_execution_run_id == '22ab9c'
    assert execution.run_tag == run_tag('22ab9c')


@pytest.mark.parametrize('tag', [None, 'c0ffee12'])
def test_long_parent_ids_of_either_form_stay_within_256_characters(tag):
    parent = 'p' * 250
    workflow_id = child_workflow_id(parent, 'sub-0-0', tag)
    suffix = 'sub-0-0' if tag is None else tag + '.sub-0-0'
    assert len(workflow_id) <= 256 and workflow_id.endswith('.' + suffix)
    assert workflow_id == child_workflow_id(parent, 'sub-0-0', tag)
    assert workflow_id != child_workflow_id('q' * 250, 'sub-0-0', tag)
    assert child_key_of(workflow_id) == 'sub-0-0'


@pytest.mark.parametrize('parent', ['order-7', 'p' * 250])
@pytest.mark.parametrize('continued', [None, 'run-41'])
@pytest.mark.parametrize('with_control', [True, False])
def test_child_keys_are_read_back_from_ids_of_either_form(parent, continued, with_control):
    log, completed = started_log(continued_from=continued)
    tag = run_tag(continued)
    ids = {key: child_workflow_id(parent, key, tag) for key in ('sub-0-0', 'sub-1-0',
                                                                'sub-2-0')}
    control = (lambda key: json.dumps({'key': key, 'position': 0})) if with_control else (
        lambda key: None)
    first = log.child_initiated('sub-0-0', completed, ids['sub-0-0'],
                                control=control('sub-0-0'))
    log.start_child_failed(ids['sub-1-0'], 'WORKFLOW_TYPE_DOES_NOT_EXIST', completed,
                           control=control('sub-1-0'))
    log.start_child_failed(ids['sub-2-0'], 'CHILD_CREATION_RATE_EXCEEDED', completed,
                           control=control('sub-2-0'))
    log.child_completed(first, result='1')
    execution = fed(log, workflow_id=parent)
    assert execution.child_key(ids['sub-0-0']) == 'sub-0-0'
    assert state(execution, 'sub-0-0') is COMPLETED
    assert state(execution, 'sub-1-0') is FAILED
    assert execution.refusals('sub-2-0') == 1 and state(execution, 'sub-2-0') is None


# -- timers --------------------------------------------------------------------------------


def test_retry_timer_ids():
    assert retry_timer_id('square-3-1') == 'square-3-1.retry'
    assert retry_timer_key('square-3-1.retry') == 'square-3-1'
    assert retry_timer_key('flowy.more.12') is None


def test_timer_pending_then_fired():
    log, completed = started_log()
    timer = log.timer_started(retry_timer_id('a-0-1'), completed)
    execution = fed(log)
    assert execution.timer_pending('a-0-1') and not execution.timer_fired('a-0-1')
    log.timer_fired(retry_timer_id('a-0-1'), timer)
    execution.feed(log.events)
    assert execution.timer_fired('a-0-1') and not execution.timer_pending('a-0-1')
    assert execution.history.get('a-0-1') is None  # a timer is not an outcome


@pytest.mark.parametrize('cause', ['OPERATION_NOT_PERMITTED', 'SOMETHING_NEW'])
def test_start_timer_failed_fails_the_attempt(cause):
    log, completed = started_log()
    log.start_timer_failed(retry_timer_id('a-0-1'), cause, completed)
    execution = fed(log)
    outcome = execution.history.get('a-0-1')
    assert outcome.state is FAILED
    assert outcome.reason == 'the retry timer before a-0-1 could not be started: ' + cause
    assert outcome.cause.cause == cause
    assert not execution.timer_pending('a-0-1')


def test_a_refused_repeat_of_a_pending_timer_is_ignored():
    log, completed = started_log()
    log.timer_started(retry_timer_id('a-0-1'), completed)
    log.start_timer_failed(retry_timer_id('a-0-1'), 'TIMER_ID_ALREADY_IN_USE',
                           log.decision_round())
    execution = fed(log)
    assert execution.history.get('a-0-1') is None and execution.timer_pending('a-0-1')


def test_a_cancelled_retry_timer_fails_the_attempt():
    log, completed = started_log()
    timer = log.timer_started(retry_timer_id('a-0-1'), completed)
    log.timer_canceled(retry_timer_id('a-0-1'), timer, log.decision_round())
    execution = fed(log)
    assert state(execution, 'a-0-1') is FAILED
    assert not execution.timer_pending('a-0-1') and not execution.timer_fired('a-0-1')


def test_other_timers_record_no_outcome():
    log, completed = started_log()
    timer = log.timer_started('flowy.more.3', completed, seconds='0')
    log.timer_fired('flowy.more.3', timer)
    timer = log.timer_started('mine', completed)
    log.timer_canceled('mine', timer, completed)
    log.start_timer_failed('theirs', 'OPERATION_NOT_PERMITTED', completed)
    execution = fed(log)
    assert execution.history.finished == 0 and execution.history.get('mine') is None


# -- throttled starts: counted, then a back-off ----------------------------------------------


def test_the_throttle_causes():
    assert THROTTLE_CAUSES == {
        'ACTIVITY_CREATION_RATE_EXCEEDED', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED',
        'CHILD_CREATION_RATE_EXCEEDED', 'OPEN_CHILDREN_LIMIT_EXCEEDED',
        'OPEN_WORKFLOWS_LIMIT_EXCEEDED', 'TIMER_CREATION_RATE_EXCEEDED',
        'OPEN_TIMERS_LIMIT_EXCEEDED'}
    shapes = swf_shapes()
    if shapes is not None:  # every one is a cause SWF's model knows
        known = set()
        for shape in ('ScheduleActivityTaskFailedCause', 'StartChildWorkflowExecutionFailedCause',
                      'StartTimerFailedCause'):
            known.update(shapes[shape]['enum'])
        assert THROTTLE_CAUSES <= known


def test_back_off_timer_ids():
    assert backoff_timer_id('square-3-1', 2) == 'square-3-1.backoff.2'
    assert backoff_timer_key('square-3-1.backoff.2') == ('square-3-1', 2)
    assert backoff_timer_key('sub-0-0.backoff.10') == ('sub-0-0', 10)
    for other in ('square-3-1.retry', 'flowy.more.12', 'x.backoff.y', '.backoff.1',
                  'a-0-0.backoff.', 'a-0-0.backoffs.1', 'mine'):
        assert backoff_timer_key(other) is None, other
    assert retry_timer_key('square-3-1.backoff.2') is None


def test_back_off_delays_grow_to_a_cap_with_a_jitter_drawn_from_the_key():
    for key in ('square-0-0', 'sub-12-3', 'x' * 200):
        delays = [backoff_delay(key, n) for n in range(1, 40)]
        assert delays == [backoff_delay(key, n) for n in range(1, 40)]  # deterministic
        for n, delay in enumerate(delays, 1):
            base = min(2 ** (n - 1), BACKOFF_CAP)
            assert type(delay) is int and base <= delay <= base + max(1, base // 2)
    assert backoff_delay('a-0-0', 1) in (1, 2) and backoff_delay('a-0-0', 3) in (4, 5, 6)
    # calls refused together do not all come back together
    assert len({backoff_delay('square-%d-0' % i, 8) for i in range(50)}) > 10


THROTTLED = [
    ('activity', 'ACTIVITY_CREATION_RATE_EXCEEDED'),
    ('activity', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED'),
    ('child', 'CHILD_CREATION_RATE_EXCEEDED'),
    ('child', 'OPEN_CHILDREN_LIMIT_EXCEEDED'),
    ('child', 'OPEN_WORKFLOWS_LIMIT_EXCEEDED'),
    ('retry timer', 'TIMER_CREATION_RATE_EXCEEDED'),
    ('retry timer', 'OPEN_TIMERS_LIMIT_EXCEEDED'),
    ('back-off timer', 'TIMER_CREATION_RATE_EXCEEDED'),
    ('back-off timer', 'OPEN_TIMERS_LIMIT_EXCEEDED'),
]


def refuse(log, what, key, cause, completed, backoff=1):
    """SWF refuses the start of ``what`` (of call ``key``) for ``cause``.

    A back-off timer is the one after refusal number ``backoff``.
    """
    if what == 'activity':
        return log.schedule_activity_failed(key, cause, completed)
    if what == 'child':
        return log.start_child_failed(child_workflow_id('order-7', key), cause, completed,
                                      control=json.dumps({'key': key, 'position': 4}))
    if what == 'retry timer':
        return log.start_timer_failed(retry_timer_id(key), cause, completed)
    return log.start_timer_failed(backoff_timer_id(key, backoff), cause, completed)


@pytest.mark.parametrize('what, cause', THROTTLED)
def test_a_throttled_start_is_counted_and_not_an_outcome(what, cause):
    key = 'sub-2-1' if what == 'child' else 'square-2-1'
    log, completed = started_log()
    if what == 'back-off timer':  # the refusal before it
        log.schedule_activity_failed(key, 'ACTIVITY_CREATION_RATE_EXCEEDED', completed)
    refuse(log, what, key, cause, log.decision_round())
    execution = fed(log)
    count = 2 if what == 'back-off timer' else 1
    assert execution.history.get(key) is None and execution.history.finished == 0
    assert execution.refusals(key) == count and execution.refusals('other-0-0') == 0
    assert not execution.backoff_fired(key) and not execution.backoff_pending(key)
    # the back-off timer of that refusal runs, then fires: the call may start again
    timer_id = backoff_timer_id(key, count)
    timer = log.timer_started(timer_id, log.decision_round())
    execution.feed(log.events)
    assert execution.backoff_pending(key) and not execution.backoff_fired(key)
    log.timer_fired(timer_id, timer)
    execution.feed(log.events)
    assert execution.backoff_fired(key) and not execution.backoff_pending(key)
    assert execution.history.get(key) is None


@pytest.mark.parametrize('what, cause', THROTTLED)
def test_a_call_refused_too_often_fails_saying_swf_kept_refusing_it(what, cause):
    key = 'sub-0-0' if what == 'child' else 'square-0-0'
    log, _ = started_log()
    if what == 'back-off timer':  # the start of the task first, then its back-off timers
        refuse(log, 'activity', key, 'OPEN_ACTIVITIES_LIMIT_EXCEEDED', log.decision_round())
    for number in range(fed(log).refusals(key) + 1, MAX_REFUSALS + 1):
        execution = fed(log)
        assert execution.history.get(key) is None and execution.refusals(key) == number - 1
        refuse(log, what, key, cause, log.decision_round(), backoff=number - 1)
    execution = fed(log)
    outcome = execution.history.get(key)
    assert outcome.state is FAILED and execution.refusals(key) == MAX_REFUSALS
    assert outcome.reason.endswith('; SWF kept refusing it (%d times, backing off in between)'
                                   % MAX_REFUSALS)
    assert outcome.cause.cause == cause
    if what == 'child':
        assert outcome.position == 4


def test_refusals_are_counted_from_the_events_whatever_the_pages():
    log, completed = started_log()
    for number in range(1, 4):
        log.schedule_activity_failed('a-0-0', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED', completed)
        log.timer_fired(backoff_timer_id('a-0-0', number),
                        log.timer_started(backoff_timer_id('a-0-0', number), completed))
    whole = fed(log)
    again = ExecutionHistory('order-7')
    for page in pages(log.events, 2):
        again.feed(page)
        again.feed(page)
    assert whole.refusals('a-0-0') == again.refusals('a-0-0') == 3
    assert snapshot(whole) == snapshot(again)
    assert whole.backoff_fired('a-0-0')


def test_a_throttled_refusal_of_a_repeated_start_is_ignored():
    log, completed = started_log()
    scheduled = log.activity_scheduled('a-0-0', completed, position=0)
    log.schedule_activity_failed('a-0-0', 'ACTIVITY_CREATION_RATE_EXCEEDED',
                                 log.decision_round())
    log.timer_started(retry_timer_id('t-0-1'), completed)
    log.start_timer_failed(retry_timer_id('t-0-1'), 'OPEN_TIMERS_LIMIT_EXCEEDED',
                           log.decision_round())
    execution = fed(log)
    assert execution.refusals('a-0-0') == execution.refusals('t-0-1') == 0
    log.activity_completed(scheduled, result='1')
    execution.feed(log.events)
    assert state(execution, 'a-0-0') is COMPLETED


def test_a_back_off_timer_refused_for_good_or_cancelled_fails_the_call():
    log, completed = started_log()
    for key in ('a-0-0', 'b-0-0', 'c-0-0'):
        log.schedule_activity_failed(key, 'ACTIVITY_CREATION_RATE_EXCEEDED', completed)
    completed = log.decision_round()
    log.start_timer_failed(backoff_timer_id('a-0-0', 1), 'OPERATION_NOT_PERMITTED', completed)
    timer = log.timer_started(backoff_timer_id('b-0-0', 1), completed)
    log.timer_canceled(backoff_timer_id('b-0-0', 1), timer, log.decision_round())
    timer = log.timer_started(backoff_timer_id('c-0-0', 1), completed)
    log.start_timer_failed(backoff_timer_id('c-0-0', 1), 'TIMER_ID_ALREADY_IN_USE',
                           log.decision_round())
    execution = fed(log)
    outcome = execution.history.get('a-0-0')
    assert outcome.state is FAILED and outcome.reason == (
        'the back-off timer before a-0-0 could not be started: OPERATION_NOT_PERMITTED')
    assert execution.history.get('b-0-0').reason == 'the back-off timer before b-0-0 was cancelled'
    assert execution.history.get('c-0-0') is None and execution.backoff_pending('c-0-0')


# -- markers, cancellation, other events ---------------------------------------------------


def test_call_failed_marker():
    log, completed = started_log()
    details = {'key': 'square-1-0', 'position': 5, 'reason': 'cannot serialize the input'}
    log.marker_recorded(CALL_FAILED_MARKER, json.dumps(details), completed)
    log.marker_recorded('someone.else', '{"key": "x-0-0", "reason": "r"}', completed)
    execution = fed(log)
    outcome = execution.history.get('square-1-0')
    assert (outcome.state, outcome.reason, outcome.position) == (
        FAILED, 'cannot serialize the input', 5)
    assert execution.history.call_at(5) == 'square-1'
    assert execution.history.get('x-0-0') is None


def test_a_repeated_call_failed_marker_counts_once():
    log, completed = started_log()
    details = json.dumps({'key': 'a-0-0', 'position': 0, 'reason': 'r'})
    log.marker_recorded(CALL_FAILED_MARKER, details, completed)
    log.marker_recorded(CALL_FAILED_MARKER, details, log.decision_round())
    assert fed(log).history.finished_since(0) == ['a-0-0']


@pytest.mark.parametrize('details', [None, 'junk', '[]', '{"key": "a-0-0"}',
                                     '{"key": 1, "reason": "r"}'])
def test_a_malformed_call_failed_marker_is_an_error(details):
    log, completed = started_log()
    log.marker_recorded(CALL_FAILED_MARKER, details, completed)
    with pytest.raises(HistoryError, match='marker'):
        fed(log)


def test_cancel_requested_flag():
    log, _ = started_log()
    execution = fed(log)
    assert not execution.cancel_requested
    log.cancel_requested(cause='CHILD_POLICY_APPLIED')
    execution.feed(log.events)
    assert execution.cancel_requested


def test_other_events_are_counted_and_ignored():
    log, completed = started_log()
    scheduled = log.decision_scheduled()
    log.decision_timed_out(scheduled, log.decision_started(scheduled))
    log.record_marker_failed(CALL_FAILED_MARKER, completed)
    log.add('LambdaFunctionScheduled', id='l1', name='fn', decisionTaskCompletedEventId=completed)
    execution = fed(log)
    assert execution.event_count == execution.last_event_id == len(log.events) == 9
    assert execution.history.finished == 0 and execution.history.calls() == 0


# -- paging, idempotency, consistency ------------------------------------------------------


def test_pages_and_refeeding():
    log = every_kind_of_event()
    whole = fed(log)
    paged = ExecutionHistory('order-7')
    counts = [paged.feed(page) for page in pages(log.events, 4)]
    assert sum(counts) == len(log.events)
    assert paged.feed(log.events) == 0
    assert paged.feed(log.events[:7]) == 0
    assert snapshot(paged) == snapshot(whole)


def test_an_event_referring_to_an_unseen_event_is_an_error():
    log, completed = started_log()
    log.activity_completed(completed, result='1')  # its scheduledEventId is no schedule
    execution = ExecutionHistory()
    with pytest.raises(HistoryError, match='has not seen'):
        execution.feed(log.events)
    assert execution.last_event_id == log.last_id - 1  # the event was not consumed


def test_a_child_event_referring_to_an_unseen_event_is_an_error():
    log, completed = started_log()
    log.add('ChildWorkflowExecutionCompleted', initiatedEventId=completed,
            startedEventId=completed, workflowType={'name': 'Sub', 'version': '1'},
            workflowExecution={'workflowId': 'order-7.sub-0-0', 'runId': 'r'})
    with pytest.raises(HistoryError, match='has not seen'):
        fed(log)


def test_a_page_after_a_gap_is_missing_events_and_consumes_nothing():
    log, completed = started_log()
    log.activity_completed(log.activity_scheduled('a-0-0', completed, position=0))
    execution = ExecutionHistory()
    execution.feed(log.events[:2])
    with pytest.raises(MissingEvents, match='events 3 to 4 are missing'):
        execution.feed(log.events[4:])
    assert execution.last_event_id == 2
    assert execution.feed(log.events) == len(log.events) - 2


def test_two_outcomes_for_one_scheduled_event_are_an_error():
    log, completed = started_log()
    scheduled = log.activity_scheduled('a-0-0', completed, position=0)
    log.activity_completed(scheduled, result='1')
    log.activity_failed(scheduled, reason='again')
    with pytest.raises(HistoryError, match='already finished'):
        fed(log)


@st.composite
def histories(draw):
    """A random, consistent history: activities, children, retries, markers, timers."""
    log, completed = started_log(input='[[],{}]')
    running = []
    position = 0
    for _ in range(draw(st.integers(1, 25))):
        action = draw(st.sampled_from(['activity', 'child', 'finish', 'finish', 'timer',
                                       'marker', 'refused', 'throttled', 'round']))
        if action == 'activity':
            key = 'a-%d-0' % position
            running.append(('activity', log.activity_scheduled(key, completed,
                                                               position=position)))
            position += 1
        elif action == 'child':
            key = 'c-%d-0' % position
            running.append(('child', log.child_initiated(key, completed, 'w.' + key,
                                                         position=position)))
            position += 1
        elif action == 'finish' and running:
            kind, event_id = running.pop(draw(st.integers(0, len(running) - 1)))
            how = draw(st.sampled_from(['completed', 'failed', 'timed_out', 'canceled']))
            if kind == 'activity':
                if how == 'completed':
                    log.activity_completed(event_id, result=str(event_id))
                else:
                    getattr(log, 'activity_' + how)(event_id)
            else:
                getattr(log, 'child_' + how)(event_id)
        elif action == 'timer':
            timer_id = retry_timer_id('t-%d-1' % position)
            started = log.timer_started(timer_id, completed)
            if draw(st.booleans()):
                log.timer_fired(timer_id, started)
            position += 1
        elif action == 'marker':
            log.marker_recorded(CALL_FAILED_MARKER, json.dumps(
                {'key': 'm-%d-0' % position, 'position': position, 'reason': 'r'}), completed)
            position += 1
        elif action == 'refused':
            log.schedule_activity_failed('r-%d-0' % position, 'ACTIVITY_TYPE_DEPRECATED',
                                         completed)
            position += 1
        elif action == 'throttled':
            key = 's-%d-0' % position
            for number in range(1, draw(st.integers(1, MAX_REFUSALS)) + 1):
                what = draw(st.sampled_from(['activity', 'child', 'retry timer']))
                refuse(log, what, key, draw(st.sampled_from(sorted(THROTTLE_CAUSES))),
                       completed)
                timer_id = backoff_timer_id(key, number)
                if draw(st.booleans()):
                    log.timer_fired(timer_id, log.timer_started(timer_id, completed))
            position += 1
        else:
            completed = log.decision_round()
    return log.events


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_any_page_split_and_refeeding_gives_the_same_history(events, data):
    whole = ExecutionHistory('w')
    whole.feed(events)
    paged = ExecutionHistory('w')
    fed_up_to = 0
    while fed_up_to < len(events):
        # a page starting anywhere at or before what was fed (repeats are skipped)
        start = data.draw(st.integers(0, fed_up_to))
        end = data.draw(st.integers(fed_up_to + 1, len(events)))
        paged.feed(events[start:end])
        fed_up_to = end
    assert snapshot(paged) == snapshot(whole)
    assert paged.feed(events) == 0


# -- the replay driver reads it ------------------------------------------------------------


class Twice:
    def __init__(self, square):
        self.square = square

    def __call__(self, x):
        return self.square(self.square(x))


def test_replay_reads_an_execution_history():
    config = WorkflowConfig(Twice)
    config._add_task(TaskSpec('square', ACTIVITY, None, retry=(0, 10)))
    log, completed = started_log(input=config._encode_input([3], {}))
    execution = fed(log)
    decision = replay(config, execution.input, execution.history)
    assert decision == Decision([ScheduleCall('square-0-0', 'square', 0, 0, 0, '[[3],{}]')])
    scheduled = log.activity_scheduled('square-0-0', log.decision_round(), position=0)
    log.activity_timed_out(scheduled)
    execution.feed(log.events)
    decision = replay(config, execution.input, execution.history)
    assert decision.calls == [ScheduleCall('square-0-1', 'square', 0, 1, 0, '[[3],{}]',
                                           delay=10)]
    scheduled = log.activity_scheduled('square-0-1', log.decision_round(), position=0)
    log.activity_completed(scheduled, result=dumps(9))
    scheduled = log.activity_scheduled('square-1-0', log.decision_round(), position=1,
                                       input='[[9],{}]')
    log.activity_timed_out(scheduled, timeout_type='HEARTBEAT')
    scheduled = log.activity_scheduled('square-1-1', log.decision_round(), position=1)
    log.activity_timed_out(scheduled, timeout_type='SCHEDULE_TO_START')
    execution.feed(log.events)
    decision = replay(config, execution.input, execution.history)
    assert 'square-1 timed out on all 2 attempts: SCHEDULE_TO_START timeout' in \
        decision.outcome.reason
    assert isinstance(decision.outcome.error, TaskTimedout)


def test_the_workflow_sees_the_swf_failure_as_the_cause():
    config = WorkflowConfig(Twice)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    log, completed = started_log(input=config._encode_input([3], {}))
    log.activity_failed(log.activity_scheduled('square-0-0', completed, position=0),
                        reason='boom', details='trace')
    execution = fed(log)
    decision = replay(config, execution.input, execution.history)
    error = decision.outcome.error
    # details that are not flowy's: the traceback is them as they are; no type is known
    assert isinstance(error, TaskError) and str(error) == 'square-0-0 failed: boom'
    assert (error.key, error.reason, error.type_name, error.traceback) == (
        'square-0-0', 'boom', None, 'trace')
    assert isinstance(error.__cause__, SWFFailure) and error.__cause__.details == 'trace'


def test_the_type_and_traceback_an_activity_worker_sent_come_back_with_the_error():
    config = WorkflowConfig(Twice)
    config._add_task(TaskSpec('square', ACTIVITY, None))
    log, completed = started_log(input=config._encode_input([3], {}))
    trace = 'Traceback (most recent call last):\n  ...\nValueError: bad 3\n'
    reason, details = failure_fields('bad 3', trace, 'ValueError')
    assert reason == 'bad 3'
    log.activity_failed(log.activity_scheduled('square-0-0', completed, position=0),
                        reason=reason, details=details)
    execution = fed(log)
    error = replay(config, execution.input, execution.history).outcome.error
    assert str(error) == 'square-0-0 failed: ValueError: bad 3'
    assert (error.key, error.reason, error.type_name, error.traceback) == (
        'square-0-0', 'bad 3', 'ValueError', trace)
    assert error.__cause__.type_name == 'ValueError'
