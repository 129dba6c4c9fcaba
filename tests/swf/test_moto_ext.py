"""moto_ext: moto 5.2.1's SWF backend with its gaps filled, driven through plain boto3 calls.

Timeouts are reached with ``swf_clock`` (moto's clock), never by sleeping; every wait on a
thread or a timer is bounded.
"""

import threading
import time

import boto3
import moto
import moto_ext
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

DOMAIN = 'moto-ext'
DECIDERS = 'deciders'
CHILDREN = 'children'
WORKERS = 'workers'
WF = {'name': 'wf', 'version': '1'}
BARE = {'name': 'bare', 'version': '1'}  # a workflow type without defaults
ACT = {'name': 'act', 'version': '1'}
NO_RETRIES = Config(retries={'total_max_attempts': 1})


def register(client):
    client.register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays='1')
    client.register_workflow_type(
        domain=DOMAIN, **WF, defaultTaskList={'name': DECIDERS}, defaultChildPolicy='TERMINATE',
        defaultExecutionStartToCloseTimeout='600', defaultTaskStartToCloseTimeout='60')
    client.register_workflow_type(domain=DOMAIN, **BARE)
    client.register_activity_type(
        domain=DOMAIN, **ACT, defaultTaskList={'name': WORKERS},
        defaultTaskScheduleToStartTimeout='NONE', defaultTaskScheduleToCloseTimeout='NONE',
        defaultTaskStartToCloseTimeout='NONE', defaultTaskHeartbeatTimeout='NONE')


@pytest.fixture
def swf(swf_client):
    register(swf_client)
    return swf_client


def start(client, workflow_id='wf-1', **kwargs):
    run_id = client.start_workflow_execution(
        domain=DOMAIN, workflowId=workflow_id, workflowType=WF, **kwargs)['runId']
    return {'workflowId': workflow_id, 'runId': run_id}


def poll(client, task_list=DECIDERS, **kwargs):
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={'name': task_list}, **kwargs)
    assert task.get('taskToken'), f'no decision task on {task_list}'
    return task


def poll_activity(client, task_list=WORKERS):
    task = client.poll_for_activity_task(domain=DOMAIN, taskList={'name': task_list})
    assert task.get('taskToken'), f'no activity task on {task_list}'
    return task


def decide(client, task, *decisions):
    client.respond_decision_task_completed(taskToken=task['taskToken'], decisions=list(decisions))


def decision(kind, **attributes):
    return {'decisionType': kind, f'{kind[0].lower()}{kind[1:]}DecisionAttributes': attributes}


def schedule(activity_id, **attributes):
    return decision('ScheduleActivityTask', activityType=ACT, activityId=activity_id, **attributes)


def start_child(workflow_id, **attributes):
    defaults = {'workflowType': WF, 'taskList': {'name': CHILDREN}}
    return decision('StartChildWorkflowExecution', workflowId=workflow_id,
                    **{**defaults, **attributes})


def history(client, execution, **kwargs):
    pages = client.get_paginator('get_workflow_execution_history').paginate(
        domain=DOMAIN, execution=execution, **kwargs)
    return [event for page in pages for event in page['events']]


def types(events):
    return [event['eventType'] for event in events]


def attributes(event):
    kind = event['eventType']
    return event[f'{kind[0].lower()}{kind[1:]}EventAttributes']


def last(events, event_type):
    """The attributes of the last event of this type."""
    matching = [event for event in events if event['eventType'] == event_type]
    assert matching, f'no {event_type} in {types(events)}'
    return attributes(matching[-1])


def event_id(events, event_type):
    return [event for event in events if event['eventType'] == event_type][-1]['eventId']


def describe(client, execution):
    return client.describe_workflow_execution(domain=DOMAIN, execution=execution)


def fails_with(code, call, *args, **kwargs):
    with pytest.raises(ClientError) as error:
        call(*args, **kwargs)
    assert error.value.response['Error']['Code'] == code
    assert error.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
    return error.value.response['Error']['Message']


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.01)


# --- the patch itself -------------------------------------------------------------------------

def test_canary_moto_internals_that_moto_ext_patches_are_still_there():
    assert moto.__version__ == moto_ext.MOTO_VERSION, (
        f'moto_ext patches internals of moto {moto_ext.MOTO_VERSION} but moto {moto.__version__}'
        ' is installed: re-read moto/swf, adapt moto_ext.py, then update MOTO_VERSION')
    missing = moto_ext.missing_internals()
    assert not missing, f'moto internals that moto_ext relies on are gone or renamed: {missing}'


def test_install_is_idempotent_and_uninstall_restores_moto():
    from moto.swf.models import WorkflowExecution, history_event
    from moto.swf.responses import SWFResponse

    moto_ext.install()
    patched = WorkflowExecution.handle_decisions
    moto_ext.install()
    assert WorkflowExecution.handle_decisions is patched
    moto_ext.uninstall()
    try:
        assert WorkflowExecution.handle_decisions is not patched
        assert 'call_action' not in vars(SWFResponse)
        assert not hasattr(SWFResponse, 'request_cancel_workflow_execution')
        assert 'TimerCanceled' not in history_event.SUPPORTED_HISTORY_EVENT_TYPES
        assert 'open_counts' not in vars(WorkflowExecution)
    finally:
        moto_ext.install()


# --- child workflows --------------------------------------------------------------------------

def test_start_child_workflow_and_its_completion(swf):
    parent = start(swf, 'parent')
    decide(swf, poll(swf), start_child('child', input='in', control='ctl', tagList=['t']))
    events = history(swf, parent)
    assert types(events)[-4:] == ['DecisionTaskCompleted', 'StartChildWorkflowExecutionInitiated',
                                  'ChildWorkflowExecutionStarted', 'DecisionTaskScheduled']
    initiated_id = events[-3]['eventId']
    initiated = attributes(events[-3])
    assert initiated['control'] == 'ctl' and initiated['input'] == 'in'
    assert initiated['workflowId'] == 'child' and initiated['workflowType'] == WF
    assert initiated['decisionTaskCompletedEventId'] == events[-4]['eventId']
    assert initiated['taskList'] == {'name': CHILDREN}
    assert initiated['executionStartToCloseTimeout'] == '600'  # the type's defaults
    assert initiated['childPolicy'] == 'TERMINATE'
    started = attributes(events[-2])
    assert started['initiatedEventId'] == initiated_id and started['workflowType'] == WF
    child = started['workflowExecution']
    assert child['workflowId'] == 'child'
    assert describe(swf, parent)['openCounts']['openChildWorkflowExecutions'] == 1

    child_task = poll(swf, CHILDREN)
    assert child_task['workflowExecution'] == child
    child_started = attributes(child_task['events'][0])
    assert child_started['parentWorkflowExecution'] == parent
    assert child_started['parentInitiatedEventId'] == initiated_id
    assert child_started['input'] == 'in' and child_started['tagList'] == ['t']
    decide(swf, child_task, decision('CompleteWorkflowExecution', result='done'))

    parent_task = poll(swf)
    assert last(parent_task['events'], 'ChildWorkflowExecutionCompleted') == {
        'result': 'done', 'initiatedEventId': initiated_id, 'startedEventId': events[-2]['eventId'],
        'workflowExecution': child, 'workflowType': WF}
    assert describe(swf, parent)['openCounts']['openChildWorkflowExecutions'] == 0
    assert describe(swf, child)['executionInfo']['closeStatus'] == 'COMPLETED'


def child_fails(client, task, clock):
    decide(client, task, decision('FailWorkflowExecution', reason='r', details='d'))


def child_cancels(client, task, clock):
    decide(client, task, decision('CancelWorkflowExecution', details='d'))


def child_is_terminated(client, task, clock):
    client.terminate_workflow_execution(domain=DOMAIN, workflowId='child', reason='stop')


def child_times_out(client, task, clock):
    clock(31)


@pytest.mark.parametrize('end, status, event_type, expected', [
    (child_fails, 'FAILED', 'ChildWorkflowExecutionFailed', {'reason': 'r', 'details': 'd'}),
    (child_cancels, 'CANCELED', 'ChildWorkflowExecutionCanceled', {'details': 'd'}),
    (child_is_terminated, 'TERMINATED', 'ChildWorkflowExecutionTerminated', {}),
    (child_times_out, 'TIMED_OUT', 'ChildWorkflowExecutionTimedOut',
     {'timeoutType': 'START_TO_CLOSE'}),
])
def test_parent_learns_how_its_child_ended(swf, swf_clock, end, status, event_type, expected):
    parent = start(swf, 'parent')
    decide(swf, poll(swf), start_child('child', executionStartToCloseTimeout='30'))
    child_task = poll(swf, CHILDREN)
    end(swf, child_task, swf_clock)
    parent_task = poll(swf)
    ended = last(parent_task['events'], event_type)
    assert expected.items() <= ended.items()
    assert ended['workflowExecution'] == child_task['workflowExecution']
    assert ended['initiatedEventId'] == event_id(parent_task['events'],
                                                 'StartChildWorkflowExecutionInitiated')
    assert ended['startedEventId'] == event_id(parent_task['events'],
                                               'ChildWorkflowExecutionStarted')
    child = describe(swf, child_task['workflowExecution'])
    assert child['executionInfo']['closeStatus'] == status
    assert describe(swf, parent)['executionInfo']['executionStatus'] == 'OPEN'


def test_start_child_workflow_failures(swf):
    parent = start(swf, 'parent')
    decide(swf, poll(swf),
           start_child('c1', workflowType={'name': 'nope', 'version': '1'}, control='a'),
           decision('StartChildWorkflowExecution', workflowType=BARE, workflowId='c2'),
           decision('StartChildWorkflowExecution', workflowType=BARE, workflowId='c3',
                    executionStartToCloseTimeout='60'),
           start_child('parent'))
    events = history(swf, parent)
    failures = [attributes(e) for e in events
                if e['eventType'] == 'StartChildWorkflowExecutionFailed']
    initiated = event_id(events, 'StartChildWorkflowExecutionInitiated')
    assert [(f['workflowId'], f['cause'], f['initiatedEventId']) for f in failures] == [
        ('c1', 'WORKFLOW_TYPE_DOES_NOT_EXIST', 0),
        ('c2', 'DEFAULT_EXECUTION_START_TO_CLOSE_TIMEOUT_UNDEFINED', 0),
        ('c3', 'DEFAULT_TASK_LIST_UNDEFINED', 0),
        ('parent', 'WORKFLOW_ALREADY_RUNNING', initiated)]
    assert failures[0]['control'] == 'a'
    assert failures[0]['workflowType'] == {'name': 'nope', 'version': '1'}
    assert types(events).count('StartChildWorkflowExecutionInitiated') == 1
    assert types(events).count('DecisionTaskScheduled') == 2  # one new task for all failures
    opened = swf.list_open_workflow_executions(domain=DOMAIN, startTimeFilter={'oldestDate': 0})
    assert [info['execution'] for info in opened['executionInfos']] == [parent]


# --- continue as new --------------------------------------------------------------------------

def test_continue_as_new_closes_the_run_and_starts_another(swf):
    old = start(swf, 'wf', input='1', tagList=['a'], taskStartToCloseTimeout='30')
    decide(swf, poll(swf), decision('ContinueAsNewWorkflowExecution', input='2',
                                    taskList={'name': 'next'}, tagList=['b']))
    assert describe(swf, old)['executionInfo']['closeStatus'] == 'CONTINUED_AS_NEW'
    events = history(swf, old)
    assert events[-1]['eventType'] == 'WorkflowExecutionContinuedAsNew'
    continued = attributes(events[-1])
    assert continued['input'] == '2' and continued['taskList'] == {'name': 'next'}
    assert continued['decisionTaskCompletedEventId'] == events[-2]['eventId']
    assert continued['workflowType'] == WF and continued['tagList'] == ['b']
    assert continued['taskStartToCloseTimeout'] == '30'  # from the old run

    new = {'workflowId': 'wf', 'runId': continued['newExecutionRunId']}
    task = poll(swf, 'next')
    assert task['workflowExecution'] == new
    started = attributes(task['events'][0])
    assert started['continuedExecutionRunId'] == old['runId']
    assert started['input'] == '2' and started['tagList'] == ['b']
    assert started['taskStartToCloseTimeout'] == '30' and started['childPolicy'] == 'TERMINATE'
    assert started['executionStartToCloseTimeout'] == '600'
    assert describe(swf, new)['executionInfo']['executionStatus'] == 'OPEN'


def test_continue_as_new_is_a_close_decision(swf):
    execution = start(swf)
    task = poll(swf)
    fails_with('ValidationException', decide, swf, task,
               decision('ContinueAsNewWorkflowExecution'), decision('RecordMarker', markerName='m'))
    decide(swf, task, decision('ContinueAsNewWorkflowExecution', workflowTypeVersion='2'))
    failed = last(history(swf, execution), 'ContinueAsNewWorkflowExecutionFailed')
    assert failed['cause'] == 'WORKFLOW_TYPE_DOES_NOT_EXIST'
    assert describe(swf, execution)['executionInfo']['executionStatus'] == 'OPEN'
    poll(swf)  # the failure scheduled a decision task


def test_parent_keeps_tracking_a_child_that_continues_as_new(swf):
    parent = start(swf, 'parent')
    decide(swf, poll(swf), start_child('child'))
    first = poll(swf, CHILDREN)
    initiated = attributes(first['events'][0])['parentInitiatedEventId']
    decide(swf, first, decision('ContinueAsNewWorkflowExecution', input='again'))
    second = poll(swf, CHILDREN)
    started = attributes(second['events'][0])
    assert started['parentWorkflowExecution'] == parent
    assert started['parentInitiatedEventId'] == initiated
    assert describe(swf, parent)['openCounts']['openChildWorkflowExecutions'] == 1
    decide(swf, second, decision('CompleteWorkflowExecution', result='done'))
    events = poll(swf)['events']
    assert 'WorkflowExecutionContinuedAsNew' not in types(events)
    completed = last(events, 'ChildWorkflowExecutionCompleted')
    assert completed['workflowExecution'] == second['workflowExecution']
    assert completed['initiatedEventId'] == initiated and completed['result'] == 'done'
    assert describe(swf, parent)['openCounts']['openChildWorkflowExecutions'] == 0


# --- decision tasks ---------------------------------------------------------------------------

def test_new_events_batch_into_one_scheduled_decision_task(swf):
    execution = start(swf)
    decide(swf, poll(swf), *[schedule(f'a{i}') for i in range(3)])
    for _ in range(3):
        swf.respond_activity_task_completed(taskToken=poll_activity(swf)['taskToken'], result='r')
    events = history(swf, execution)
    assert types(events).count('DecisionTaskScheduled') == 2
    assert describe(swf, execution)['openCounts']['openDecisionTasks'] == 1
    pending = swf.count_pending_decision_tasks(domain=DOMAIN, taskList={'name': DECIDERS})
    assert pending['count'] == 1

    task = poll(swf)
    assert types(task['events']).count('ActivityTaskCompleted') == 3
    swf.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1', signalName='s1')  # no input
    swf.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1', signalName='s2', input='')
    decide(swf, task)
    task = poll(swf)
    assert types(task['events'])[-5:] == ['WorkflowExecutionSignaled', 'DecisionTaskScheduled',
                                          'WorkflowExecutionSignaled', 'DecisionTaskCompleted',
                                          'DecisionTaskStarted']
    assert attributes(task['events'][-1])['scheduledEventId'] == task['events'][-4]['eventId']
    decide(swf, task, decision('CompleteWorkflowExecution'))
    assert not swf.poll_for_decision_task(domain=DOMAIN, taskList={'name': DECIDERS}).get(
        'taskToken')
    assert set(describe(swf, execution)['openCounts'].values()) == {0}


@pytest.mark.parametrize('close, status', [
    (decision('CompleteWorkflowExecution', result='r'), 'COMPLETED'),
    (decision('FailWorkflowExecution', reason='r'), 'FAILED'),
    (decision('CancelWorkflowExecution'), 'CANCELED'),
    (decision('ContinueAsNewWorkflowExecution'), 'CONTINUED_AS_NEW'),
])
def test_close_decision_fails_when_events_came_in_meanwhile(swf, close, status):
    execution = start(swf)
    task = poll(swf)
    swf.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1', signalName='late', input='x')
    decide(swf, task, decision('RecordMarker', markerName='m'), close)
    events = history(swf, execution)
    failed = last(events, f'{close["decisionType"]}Failed')
    assert failed == {'cause': 'UNHANDLED_DECISION',
                      'decisionTaskCompletedEventId': event_id(events, 'DecisionTaskCompleted')}
    assert 'MarkerRecorded' in types(events)
    assert describe(swf, execution)['executionInfo']['executionStatus'] == 'OPEN'
    retry = poll(swf)
    assert 'WorkflowExecutionSignaled' in types(retry['events'])
    assert retry['previousStartedEventId'] == task['startedEventId']
    decide(swf, retry, close)
    assert describe(swf, execution)['executionInfo']['closeStatus'] == status


def test_decision_task_timeout_none_does_not_break_moto(swf, swf_clock):
    execution = start(swf, taskStartToCloseTimeout='NONE', executionStartToCloseTimeout='9999999')
    task = poll(swf)
    swf_clock(10 ** 6)
    other = start(swf, 'other', executionStartToCloseTimeout='9999999')
    assert 'DecisionTaskTimedOut' not in types(history(swf, execution))
    decide(swf, task, decision('CompleteWorkflowExecution'))
    assert describe(swf, other)['executionInfo']['executionStatus'] == 'OPEN'


# --- pagination -------------------------------------------------------------------------------

def test_history_pages_forwards_and_backwards(swf):
    execution = start(swf)
    decide(swf, poll(swf), *[decision('RecordMarker', markerName=f'm{i}') for i in range(7)])
    everything = swf.get_workflow_execution_history(domain=DOMAIN, execution=execution)
    assert 'nextPageToken' not in everything
    ids = [event['eventId'] for event in everything['events']]
    assert ids == list(range(1, 12))

    page = swf.get_workflow_execution_history(domain=DOMAIN, execution=execution,
                                              maximumPageSize=4)
    assert [event['eventId'] for event in page['events']] == [1, 2, 3, 4]
    seen = [event['eventId'] for event in page['events']]
    while page.get('nextPageToken'):
        page = swf.get_workflow_execution_history(
            domain=DOMAIN, execution=execution, maximumPageSize=4,
            nextPageToken=page['nextPageToken'])
        seen += [event['eventId'] for event in page['events']]
    assert seen == ids

    pages = list(swf.get_paginator('get_workflow_execution_history').paginate(
        domain=DOMAIN, execution=execution, reverseOrder=True, PaginationConfig={'PageSize': 3}))
    assert len(pages) == 4
    assert [e['eventId'] for page in pages for e in page['events']] == ids[::-1]

    moto_ext.set_page_size(2)  # a server-side cap, below any maximumPageSize asked for
    capped = swf.get_workflow_execution_history(domain=DOMAIN, execution=execution,
                                                maximumPageSize=5)
    assert len(capped['events']) == 2 and capped['nextPageToken']
    assert [e['eventId'] for e in history(swf, execution)] == ids

    fails_with('ValidationException', swf.get_workflow_execution_history,
               domain=DOMAIN, execution=execution, maximumPageSize=1001)
    fails_with('ValidationException', swf.get_workflow_execution_history,
               domain=DOMAIN, execution=execution, nextPageToken='garbage')


def test_decision_task_pages_come_from_further_polls(swf):
    start(swf)
    decide(swf, poll(swf), *[decision('RecordMarker', markerName=f'm{i}') for i in range(5)])
    swf.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1', signalName='s', input='')
    moto_ext.set_page_size(4)
    first = poll(swf)
    assert len(first['events']) == 4 and first['nextPageToken']
    assert first['startedEventId'] == 12 and first['previousStartedEventId'] == 3
    start(swf, 'other')  # another task on the list: further pages must not hand it out
    events, token = first['events'], first['nextPageToken']
    while token:
        page = swf.poll_for_decision_task(domain=DOMAIN, taskList={'name': DECIDERS},
                                          nextPageToken=token)
        assert page['taskToken'] == first['taskToken']
        events, token = events + page['events'], page.get('nextPageToken')
    assert [event['eventId'] for event in events] == list(range(1, 13))
    assert events[-1]['eventType'] == 'DecisionTaskStarted'
    decide(swf, first, decision('CompleteWorkflowExecution'))

    pages = list(swf.get_paginator('poll_for_decision_task').paginate(
        domain=DOMAIN, taskList={'name': DECIDERS}, reverseOrder=True,
        PaginationConfig={'PageSize': 2}))
    assert {page['taskToken'] for page in pages} == {pages[0]['taskToken']}
    assert pages[0]['workflowExecution']['workflowId'] == 'other'
    assert [e['eventId'] for page in pages for e in page['events']] == [3, 2, 1]


# --- activity tasks ---------------------------------------------------------------------------

@pytest.mark.parametrize('kind, timeouts, started_at', [
    ('SCHEDULE_TO_START', {'scheduleToStartTimeout': '5'}, None),
    ('SCHEDULE_TO_CLOSE', {'scheduleToCloseTimeout': '8', 'scheduleToStartTimeout': '7'}, 3),
    ('START_TO_CLOSE', {'startToCloseTimeout': '5', 'scheduleToCloseTimeout': '100'}, 3),
    # counted from the start (4 + 5), where moto counts from scheduling (0 + 5)
    ('HEARTBEAT', {'heartbeatTimeout': '5'}, 4),
])
def test_activity_timeouts(swf, swf_clock, kind, timeouts, started_at):
    execution = start(swf)
    decide(swf, poll(swf), schedule('a', **timeouts))
    task = None
    if started_at is not None:
        swf_clock(started_at)
        task = poll_activity(swf)
    swf_clock(4)  # 5 s after the last clock (scheduling or start) minus 1
    assert 'ActivityTaskTimedOut' not in types(history(swf, execution))
    swf_clock(1)
    events = history(swf, execution)
    timed_out = last(events, 'ActivityTaskTimedOut')
    assert timed_out['timeoutType'] == kind
    assert ('startedEventId' in timed_out) == (task is not None)
    assert events[-1]['eventType'] == 'DecisionTaskScheduled'
    assert describe(swf, execution)['openCounts']['openActivityTasks'] == 0
    if task is not None:
        fails_with('UnknownResourceFault', swf.respond_activity_task_completed,
                   taskToken=task['taskToken'])


def test_heartbeats_reset_the_heartbeat_clock(swf, swf_clock):
    execution = start(swf)
    decide(swf, poll(swf), schedule('a', heartbeatTimeout='5'))
    task = poll_activity(swf)
    for _ in range(3):
        swf_clock(4)
        swf.record_activity_task_heartbeat(taskToken=task['taskToken'], details='alive')
    assert 'ActivityTaskTimedOut' not in types(history(swf, execution))
    swf_clock(5)
    timed_out = last(history(swf, execution), 'ActivityTaskTimedOut')
    assert timed_out['timeoutType'] == 'HEARTBEAT' and timed_out['details'] == 'alive'


def test_activity_cancellation(swf):
    execution = start(swf)
    decide(swf, poll(swf), schedule('running'), schedule('waiting', taskList={'name': 'idle'}))
    running = poll_activity(swf)
    heartbeat = swf.record_activity_task_heartbeat(taskToken=running['taskToken'])
    assert heartbeat['cancelRequested'] is False
    swf.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1', signalName='stop', input='')
    decide(swf, poll(swf), *[decision('RequestCancelActivityTask', activityId=activity_id)
                             for activity_id in ('running', 'waiting', 'unknown')])
    events = history(swf, execution)
    requested = {attributes(e)['activityId']: e['eventId'] for e in events
                 if e['eventType'] == 'ActivityTaskCancelRequested'}
    assert set(requested) == {'running', 'waiting'}
    canceled = last(events, 'ActivityTaskCanceled')  # 'waiting' never started: canceled at once
    assert canceled['latestCancelRequestedEventId'] == requested['waiting']
    assert 'startedEventId' not in canceled
    failed = last(events, 'RequestCancelActivityTaskFailed')
    assert failed['activityId'] == 'unknown' and failed['cause'] == 'ACTIVITY_ID_UNKNOWN'
    assert not swf.poll_for_activity_task(domain=DOMAIN, taskList={'name': 'idle'}).get(
        'taskToken')

    assert swf.record_activity_task_heartbeat(taskToken=running['taskToken'])['cancelRequested']
    swf.respond_activity_task_canceled(taskToken=running['taskToken'], details='undone')
    events = history(swf, execution)
    canceled = last(events, 'ActivityTaskCanceled')
    assert canceled['details'] == 'undone'
    assert canceled['latestCancelRequestedEventId'] == requested['running']
    assert canceled['startedEventId'] == event_id(events, 'ActivityTaskStarted')
    assert types(poll(swf)['events']).count('ActivityTaskCanceled') == 2  # both in one task
    assert describe(swf, execution)['openCounts']['openActivityTasks'] == 0


def test_each_task_goes_to_one_poller(swf, monkeypatch):
    from moto.swf.models import WorkflowExecution

    # Widen the window between choosing a task and marking it started, as a busy server would.
    start_task = WorkflowExecution.start_activity_task

    def slow_start_task(self, *args, **kwargs):
        time.sleep(0.002)
        return start_task(self, *args, **kwargs)

    monkeypatch.setattr(WorkflowExecution, 'start_activity_task', slow_start_task)
    start(swf)
    activity_ids = [f'a{i}' for i in range(60)]
    decide(swf, poll(swf), *[schedule(activity_id) for activity_id in activity_ids])
    clients = [boto3.client('swf', region_name='us-east-1', config=NO_RETRIES)
               for _ in range(6)]
    delivered, errors = [], []

    def work(client):
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                task = client.poll_for_activity_task(domain=DOMAIN, taskList={'name': WORKERS})
                if not task.get('taskToken'):
                    return
                delivered.append(task['activityId'])
                client.respond_activity_task_completed(taskToken=task['taskToken'])
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(delivered) == sorted(activity_ids)


def test_empty_polls_answer_quickly_and_the_wait_is_settable(swf):
    began = time.monotonic()
    assert not swf.poll_for_activity_task(domain=DOMAIN, taskList={'name': WORKERS}).get(
        'taskToken')
    assert time.monotonic() - began < 0.5
    moto_ext.set_poll_wait(0.2)
    began = time.monotonic()
    empty = swf.poll_for_decision_task(domain=DOMAIN, taskList={'name': DECIDERS})
    assert time.monotonic() - began >= 0.2
    assert not empty.get('taskToken') and empty['previousStartedEventId'] == 0


# --- tokens, sizes, timers, cancellation ------------------------------------------------------

def test_used_timed_out_and_stale_tokens_are_unknown_resources(swf, swf_clock):
    start(swf, taskStartToCloseTimeout='10')
    task = poll(swf)
    swf_clock(11)
    retry = poll(swf)
    assert 'DecisionTaskTimedOut' in types(retry['events'])
    fails_with('UnknownResourceFault', decide, swf, task)
    decide(swf, retry, schedule('a'), schedule('b'))
    fails_with('UnknownResourceFault', decide, swf, retry)

    activity = poll_activity(swf)
    swf.respond_activity_task_completed(taskToken=activity['taskToken'])
    fails_with('UnknownResourceFault', swf.respond_activity_task_completed,
               taskToken=activity['taskToken'])
    fails_with('UnknownResourceFault', swf.record_activity_task_heartbeat,
               taskToken=activity['taskToken'])
    fails_with('ValidationException', swf.respond_activity_task_failed, taskToken='garbage')

    other = poll_activity(swf)
    swf.terminate_workflow_execution(domain=DOMAIN, workflowId='wf-1')
    fails_with('UnknownResourceFault', swf.respond_activity_task_failed,
               taskToken=other['taskToken'])


def test_size_limits_are_validation_errors(swf):
    start(swf, 'ok', input='x' * 32768)
    message = fails_with('ValidationException', start, swf, 'big', input='x' * 32769)
    assert "'input'" in message and '32768' in message
    task = poll(swf)
    message = fails_with('ValidationException', decide, swf, task,
                         schedule('a', control='x' * 32769))
    assert 'decisions.1.member.scheduleActivityTaskDecisionAttributes.control' in message
    decide(swf, task, schedule('a'))  # the rejected response applied nothing

    activity = poll_activity(swf)
    token = activity['taskToken']
    fails_with('ValidationException', swf.respond_activity_task_failed,
               taskToken=token, reason='r' * 257)
    fails_with('ValidationException', swf.record_activity_task_heartbeat,
               taskToken=token, details='d' * 2049)
    swf.record_activity_task_heartbeat(taskToken=token, details='d' * 2048)
    fails_with('ValidationException', swf.respond_activity_task_completed,
               taskToken=token, result='r' * 32769)
    fails_with('ValidationException', swf.signal_workflow_execution, domain=DOMAIN,
               workflowId='ok', signalName='s', input='x' * 32769)
    swf.respond_activity_task_failed(taskToken=token, reason='r' * 256, details='d' * 32768)


def test_timer_canceled_and_fired(swf):
    execution = start(swf)
    decide(swf, poll(swf), decision('StartTimer', timerId='long', startToFireTimeout='3600'),
           decision('StartTimer', timerId='now', startToFireTimeout='0'))
    wait_for(lambda: 'TimerFired' in types(history(swf, execution)))
    assert describe(swf, execution)['openCounts']['openTimers'] == 1
    decide(swf, poll(swf), decision('CancelTimer', timerId='long'),
           decision('CancelTimer', timerId='nope'))
    events = history(swf, execution)
    started = [e for e in events if e['eventType'] == 'TimerStarted']
    assert last(events, 'TimerCanceled') == {
        'timerId': 'long', 'startedEventId': started[0]['eventId'],
        'decisionTaskCompletedEventId': event_id(events, 'DecisionTaskCompleted')}
    failed = last(events, 'CancelTimerFailed')
    assert failed['timerId'] == 'nope' and failed['cause'] == 'TIMER_ID_UNKNOWN'
    assert events[-1]['eventType'] == 'DecisionTaskScheduled'  # a failed decision asks again
    assert describe(swf, execution)['openCounts']['openTimers'] == 0


def test_request_cancel_workflow_execution(swf):
    execution = start(swf)
    swf.request_cancel_workflow_execution(domain=DOMAIN, workflowId='wf-1')
    assert describe(swf, execution)['executionInfo']['cancelRequested'] is True
    task = poll(swf)
    assert types(task['events']) == ['WorkflowExecutionStarted', 'DecisionTaskScheduled',
                                     'WorkflowExecutionCancelRequested', 'DecisionTaskStarted']
    decide(swf, task, decision('CancelWorkflowExecution', details='bye'))
    assert describe(swf, execution)['executionInfo']['closeStatus'] == 'CANCELED'
    assert last(history(swf, execution), 'WorkflowExecutionCanceled')['details'] == 'bye'
    fails_with('UnknownResourceFault', swf.request_cancel_workflow_execution,
               domain=DOMAIN, workflowId='wf-1')


def test_request_cancel_external_workflow_execution(swf):
    parent = start(swf, 'parent')
    decide(swf, poll(swf), start_child('child'))
    decide(swf, poll(swf), decision('RequestCancelExternalWorkflowExecution', workflowId='child',
                                    control='{"key":"c-0-0"}'))
    events = history(swf, parent)
    initiated = last(events, 'RequestCancelExternalWorkflowExecutionInitiated')
    assert initiated['workflowId'] == 'child' and initiated['control'] == '{"key":"c-0-0"}'
    requested = last(events, 'ExternalWorkflowExecutionCancelRequested')
    assert requested['initiatedEventId'] == event_id(
        events, 'RequestCancelExternalWorkflowExecutionInitiated')
    child_task = poll(swf, CHILDREN)
    child_events = child_task['events']
    asked = last(child_events, 'WorkflowExecutionCancelRequested')
    assert asked['externalWorkflowExecution'] == parent
    decide(swf, child_task, decision('CancelWorkflowExecution', details='as asked'))
    assert last(history(swf, parent), 'ChildWorkflowExecutionCanceled')['details'] == 'as asked'
    # a run that is not open: the request fails, and a decision task is scheduled
    decide(swf, poll(swf), decision('RequestCancelExternalWorkflowExecution', workflowId='child'))
    failed = last(history(swf, parent), 'RequestCancelExternalWorkflowExecutionFailed')
    assert failed['cause'] == 'UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION'
    assert poll(swf)['events'][-1]['eventType'] == 'DecisionTaskStarted'


def test_signals_without_input_and_markers(swf):
    execution = start(swf)
    swf.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1', signalName='go')
    decide(swf, poll(swf), decision('RecordMarker', markerName='m', details='d'),
           decision('StartTimer', timerId='@sleep-0', startToFireTimeout='3600',
                    control='{"position":1}'))
    events = history(swf, execution)
    assert last(events, 'WorkflowExecutionSignaled') == {'signalName': 'go'}
    assert last(events, 'MarkerRecorded')['details'] == 'd'
    assert last(events, 'TimerStarted')['control'] == '{"position":1}'


# --- fixtures: S3 beside SWF, and a loopback server -------------------------------------------

def test_s3_client_shares_the_mocked_aws(s3_client, swf):
    s3_client.create_bucket(Bucket='payloads')
    s3_client.put_object(Bucket='payloads', Key='k', Body=b'v')
    assert s3_client.get_object(Bucket='payloads', Key='k')['Body'].read() == b'v'
    assert swf.describe_domain(name=DOMAIN)['domainInfo']['status'] == 'REGISTERED'


def server_client(endpoint):
    assert endpoint.startswith('http://127.0.0.1:')
    client = boto3.client('swf', endpoint_url=endpoint, region_name='us-east-1',
                          config=NO_RETRIES)
    register(client)  # fails unless the state was reset since the last test
    return client


def test_child_workflow_through_a_loopback_server(swf_server):
    client = server_client(swf_server)
    start(client, 'parent')
    decide(client, poll(client), start_child('child'))
    decide(client, poll(client, CHILDREN), decision('CompleteWorkflowExecution', result='r'))
    assert last(poll(client)['events'], 'ChildWorkflowExecutionCompleted')['result'] == 'r'


def test_loopback_server_is_reset_and_patched(swf_server):
    client = server_client(swf_server)
    began = time.monotonic()
    assert not client.poll_for_activity_task(domain=DOMAIN, taskList={'name': WORKERS}).get(
        'taskToken')
    assert time.monotonic() - began < 0.5
