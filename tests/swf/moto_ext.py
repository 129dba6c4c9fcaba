"""Test infrastructure: fill the gaps of moto 5.2.1's SWF backend, in-process.

``install()`` monkeypatches moto's SWF models and responses (idempotent; ``uninstall()``
undoes it).  It works under ``mock_aws()`` and in a ``ThreadedMotoServer`` of the same
process.  What it adds to moto, in SWF's own terms:

* the StartChildWorkflowExecution, ContinueAsNewWorkflowExecution,
  RequestCancelActivityTask and RequestCancelExternalWorkflowExecution decisions; the
  RequestCancelWorkflowExecution and RespondActivityTaskCanceled calls;
  ``cancelRequested`` from RecordActivityTaskHeartbeat;
* a closing child (completed, failed, canceled, timed out, terminated) tells its parent.
  A child that continues as new hands its parent link to the new run: the parent sees no
  event then, and the final close reports the last run's ``workflowExecution`` with the
  first run's ``initiatedEventId`` and ``startedEventId``;
* at most one scheduled decision task per execution; every ``*Failed`` decision event
  schedules one; close decisions fail with UNHANDLED_DECISION if events came in meanwhile;
* the four activity timeouts, lazily and on ``moto.core.utils.utcnow`` like moto's own;
  ``"NONE"`` decision timeouts; correct open counts; ``TimerCanceled`` (not TimerCancelled);
* ``maximumPageSize``/``nextPageToken`` on GetWorkflowExecutionHistory and PollForDecisionTask;
* 32,768/256/2,048-character checks (ValidationException); UnknownResourceFault for used,
  timed-out or stale task tokens;
* one global lock around every SWF call (a task goes to one poller only), and a short
  empty-poll wait outside that lock instead of moto's 1 s inside it.

Not covered: child policies (a closing parent leaves its children alone), the
SignalExternal/ScheduleLambdaFunction decisions (still moto's 500),
rate and limit causes, time filters of the List calls, long polling.
"""

import base64
import json
import threading
import time
from functools import partial

import moto
import moto.core.utils as moto_utils
from moto.swf import models as swf_models
from moto.swf.exceptions import SWFUnknownResourceFault, SWFValidationException
from moto.swf.models import (
    ActivityTask,
    ActivityType,
    DecisionTask,
    Domain,
    SWFBackend,
    Timeout,
    Timer,
    WorkflowExecution,
    WorkflowType,
    history_event,
)
from moto.swf.responses import SWFResponse
from moto.swf.utils import decapitalize

MOTO_VERSION = '5.2.1'
MAX_PAGE_SIZE = 1000
DATA_LIMIT = 32768
REASON_LIMIT = 256
HEARTBEAT_DETAILS_LIMIT = 2048

# What install() patches or calls, by owner; the canary test checks that they still exist.
RELIES_ON = {
    WorkflowExecution: (
        '_add_event', '_schedule_decision_task', 'schedule_decision_task', 'start',
        'validate_decisions', 'handle_decisions', 'complete_decision_task', 'terminate',
        'timeout', '_fire_timer', '_process_timeouts', 'events', 'decision_tasks',
        'activity_tasks', 'open', 'to_short_dict'),
    ActivityTask: ('__init__', 'start', 'first_timeout', 'timeout', 'open'),
    DecisionTask: ('first_timeout',),
    Timer: ('start', 'cancel', 'is_alive'),
    Domain: ('get_type', 'get_workflow_execution', 'add_workflow_execution',
             'add_to_decision_task_list', 'decision_tasks', 'activity_tasks'),
    SWFBackend: ('_process_timeouts', '_get_domain', '_find_activity_task_from_token',
                 'respond_decision_task_completed', 'poll_for_decision_task',
                 'describe_workflow_execution', 'signal_workflow_execution'),
    SWFResponse: ('call_action', 'swf_backend', '_params', 'poll_for_decision_task',
                  'get_workflow_execution_history', 'record_activity_task_heartbeat',
                  'signal_workflow_execution', 'start_workflow_execution',
                  'respond_decision_task_completed', 'respond_activity_task_completed',
                  'respond_activity_task_failed', 'terminate_workflow_execution'),
    swf_models: ('sleep',),
    history_event: ('SUPPORTED_HISTORY_EVENT_TYPES',),
    moto_utils: ('utcnow', 'unix_time', 'underscores_to_camelcase'),
}
# Attributes that moto's constructors set and this module reads or writes.
INSTANCE_ATTRIBUTES = {
    WorkflowExecution: (
        'domain', 'workflow_id', 'run_id', 'workflow_type', 'execution_status', 'close_status',
        'close_timestamp', 'cancel_requested', 'parent', 'tag_list', 'input', 'task_list',
        'child_policy', 'execution_start_to_close_timeout', 'task_start_to_close_timeout',
        'start_timestamp', 'child_workflow_executions', '_events', '_timers', 'open_counts'),
    ActivityTask: ('activity_id', 'state', 'task_token', 'timeouts', 'scheduled_event_id',
                   'started_event_id', 'last_heartbeat_timestamp', 'workflow_execution'),
    DecisionTask: ('state', 'task_token', 'workflow_type', 'scheduled_event_id',
                   'started_event_id', 'previous_started_event_id', 'start_to_close_timeout'),
}

_settings = {'page_size': MAX_PAGE_SIZE, 'poll_wait': 0.02}
_LOCK = threading.RLock()  # held by every SWF call and by moto's timer threads
_local = threading.local()
_MISSING = object()
_originals = {}  # (owner, name) -> what the name resolved to before install()
_restore = []  # (owner, name, owner's own value or _MISSING), in patch order


def set_page_size(size=None):
    """Cap every history page at `size` events (None: SWF's 1000), to page short histories."""
    _settings['page_size'] = min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)


def set_poll_wait(seconds=0.02):
    """How long an empty PollFor*Task waits before answering (moto: 1 s)."""
    _settings['poll_wait'] = seconds


def missing_internals():
    """Names of the moto internals this module needs but cannot find (empty when all is well)."""
    missing = [f'{getattr(owner, "__name__", owner)}.{name}'
               for owner, names in RELIES_ON.items() for name in names
               if _originals.get((owner, name), getattr(owner, name, _MISSING)) is _MISSING]
    domain = Domain('canary', '1', account_id='123456789012', region_name='us-east-1')
    wfe = WorkflowExecution(domain, WorkflowType('wf', '1'), 'canary', task_list='tl',
                            execution_start_to_close_timeout='1', child_policy='ABANDON',
                            task_start_to_close_timeout='1')
    samples = {
        WorkflowExecution: wfe,
        ActivityTask: ActivityTask('a', ActivityType('a', '1'), 1, wfe, timeouts={}),
        DecisionTask: DecisionTask(wfe, 1),
    }
    for cls, names in INSTANCE_ATTRIBUTES.items():
        missing += [f'{cls.__name__}().{name}' for name in names
                    if not hasattr(samples[cls], name)]
    return missing


def install():
    """Patch moto's SWF backend in this process (again: no-op)."""
    if _restore:
        return
    missing = missing_internals()
    if missing:
        raise RuntimeError(f'moto {moto.__version__} lacks what moto_ext patches: {missing}')
    _patch(history_event, 'SUPPORTED_HISTORY_EVENT_TYPES',
           history_event.SUPPORTED_HISTORY_EVENT_TYPES + _NEW_EVENT_TYPES)
    _patch(swf_models, 'sleep', _note_empty_poll)
    for owner, replacements in _REPLACEMENTS.items():
        for name, value in replacements.items():
            _patch(owner, name, value)
    for name in ('terminate', 'timeout'):
        _patch(WorkflowExecution, name, _closing(name))
    for name, limits in _SIZE_CHECKED.items():
        _patch(SWFResponse, name, _size_checked(getattr(SWFResponse, name), limits))


def uninstall():
    """Undo install().  Executions created meanwhile may misbehave under plain moto."""
    while _restore:
        owner, name, value = _restore.pop()
        if value is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, value)
    _originals.clear()


def _patch(owner, name, value):
    # setdefault: a name patched twice (replaced, then size-checked) keeps moto's original
    _originals.setdefault((owner, name), getattr(owner, name, _MISSING))
    _restore.append((owner, name, vars(owner).get(name, _MISSING)))
    setattr(owner, name, value)


def _orig(owner, name):
    return _originals[(owner, name)]


# --- history events ---------------------------------------------------------------------------

_NEW_EVENT_TYPES = (
    'TimerCanceled', 'CompleteWorkflowExecutionFailed', 'FailWorkflowExecutionFailed',
    'ContinueAsNewWorkflowExecutionFailed', 'WorkflowExecutionContinuedAsNew',
    'StartChildWorkflowExecutionInitiated', 'StartChildWorkflowExecutionFailed',
    'ChildWorkflowExecutionStarted', 'ChildWorkflowExecutionCompleted',
    'ChildWorkflowExecutionFailed', 'ChildWorkflowExecutionTimedOut',
    'ChildWorkflowExecutionCanceled', 'ChildWorkflowExecutionTerminated',
    'WorkflowExecutionCancelRequested', 'ActivityTaskCancelRequested', 'ActivityTaskCanceled',
    'RequestCancelActivityTaskFailed', 'RequestCancelExternalWorkflowExecutionInitiated',
    'RequestCancelExternalWorkflowExecutionFailed', 'ExternalWorkflowExecutionCancelRequested',
)
_DECISION_TASK_EVENTS = ('DecisionTaskScheduled', 'DecisionTaskStarted',
                         'DecisionTaskCompleted', 'DecisionTaskTimedOut')


def _add(wfe, event_type, **attributes):
    """Add an event; unlike moto, keep '' and 0 values (initiatedEventId is 0 in SWF)."""
    event = wfe._add_event(event_type, **attributes)
    for key, value in attributes.items():
        if value is not None and not value and not isinstance(value, (list, dict)):
            event.event_attributes[moto_utils.underscores_to_camelcase(key)] = value
    return event


def _start(self):
    # moto hard-codes parentInitiatedEventId=0; children and continued runs carry more.
    self.start_timestamp = moto_utils.unix_time()
    _add(self, 'WorkflowExecutionStarted', child_policy=self.child_policy,
         execution_start_to_close_timeout=self.execution_start_to_close_timeout,
         task_list=self.task_list, task_start_to_close_timeout=self.task_start_to_close_timeout,
         workflow_type=self.workflow_type, input=self.input, tag_list=self.tag_list or None,
         **getattr(self, 'ext_started', {}))
    self.schedule_decision_task()


# --- decision tasks ---------------------------------------------------------------------------

def _schedule_decision_task(self):
    # SWF keeps at most one scheduled decision task per execution and batches new events
    # into it; moto adds one per event.
    if not self.open or any(task.state == 'SCHEDULED' for task in self.decision_tasks):
        return
    event = self._add_event('DecisionTaskScheduled', task_list=self.task_list,
                            start_to_close_timeout=self.task_start_to_close_timeout)
    self.domain.add_to_decision_task_list(self.task_list, DecisionTask(self, event.event_id))


def _decision_first_timeout(self):
    # moto does int('NONE'), which breaks every later call in every domain.
    if self.start_to_close_timeout == 'NONE':
        return None
    return _orig(DecisionTask, 'first_timeout')(self)


def _open_counts(self):
    # Computed, because moto's counters leak (openDecisionTasks stays above 0 forever).
    counts = dict.fromkeys(('openTimers', 'openDecisionTasks', 'openActivityTasks',
                            'openChildWorkflowExecutions', 'openLambdaFunctions'), 0)
    if self.open:
        counts.update(
            openTimers=sum(timer.is_alive() for timer in self._timers.values()),
            openDecisionTasks=sum(t.state in ('SCHEDULED', 'STARTED') for t in self.decision_tasks),
            openActivityTasks=sum(task.open for task in self.activity_tasks),
            openChildWorkflowExecutions=sum(c.open for c in self.child_workflow_executions))
    return counts


def _keep_open_counts(self, value):
    # moto's own `+= 1` on the computed dict is harmless; its __init__ value is only kept
    # for after uninstall().
    self.__dict__['open_counts'] = value


def _validate_decisions(self, decisions):
    # moto forgets ContinueAsNew when it checks that a close decision comes last.
    if any(d.get('decisionType') == 'ContinueAsNewWorkflowExecution' for d in decisions[:-1]):
        raise SWFValidationException('Close must be last decision in list')
    _orig(WorkflowExecution, 'validate_decisions')(self, decisions)


def _handle_decisions(self, event_id, decisions):
    for decision in decisions:
        kind = decision['decisionType']
        attributes = decision.get(f'{decapitalize(kind)}DecisionAttributes') or {}
        first_new = len(self._events)
        if kind in _DECISION_HANDLERS:
            _DECISION_HANDLERS[kind](self, event_id, attributes)
        else:  # ScheduleActivityTask, RecordMarker, StartTimer: moto's own
            _orig(WorkflowExecution, 'handle_decisions')(self, event_id, [decision])
        # In SWF every failed decision schedules a decision task (a no-op once closed).
        if any(e.event_type.endswith('Failed') for e in self._events[first_new:]):
            self.schedule_decision_task()


def _unhandled_events(wfe, completed_event_id):
    """Did events other than decision-task ones arrive while this decision task ran?"""
    completed = next(e for e in wfe._events if e.event_id == completed_event_id)
    started = completed.event_attributes['startedEventId']
    return any(started < e.event_id < completed_event_id and
               e.event_type not in _DECISION_TASK_EVENTS for e in wfe._events)


# --- closing executions -----------------------------------------------------------------------

# close status -> (event closing the execution, event telling its parent, attributes both carry)
_CLOSES = {
    'COMPLETED': ('WorkflowExecutionCompleted', 'ChildWorkflowExecutionCompleted', ('result',)),
    'FAILED': ('WorkflowExecutionFailed', 'ChildWorkflowExecutionFailed', ('reason', 'details')),
    'CANCELED': ('WorkflowExecutionCanceled', 'ChildWorkflowExecutionCanceled', ('details',)),
    'TIMED_OUT': ('WorkflowExecutionTimedOut', 'ChildWorkflowExecutionTimedOut',
                  ('timeout_type',)),
    'TERMINATED': ('WorkflowExecutionTerminated', 'ChildWorkflowExecutionTerminated', ()),
}


def _close_by_decision(status, decision, self, event_id, attributes):
    if _unhandled_events(self, event_id):
        _add(self, f'{decision}Failed', cause='UNHANDLED_DECISION',
             decision_task_completed_event_id=event_id)
        return
    close_event, _, keys = _CLOSES[status]
    self.execution_status, self.close_status = 'CLOSED', status
    _add(self, close_event, decision_task_completed_event_id=event_id,
         **{key: attributes.get(key) for key in keys})
    _after_close(self)


def _closing(name):
    """Wrap moto's terminate() or timeout(), which close an execution outside decisions."""
    def close(self, *args, **kwargs):
        was_open = self.open
        _orig(WorkflowExecution, name)(self, *args, **kwargs)
        if was_open and not self.open:
            _after_close(self)
    return close


def _after_close(wfe):
    """What SWF does for every closed execution: drop its timers and tasks, tell its parent."""
    wfe.close_timestamp = wfe.close_timestamp or moto_utils.unix_time()
    for timer in wfe._timers.values():
        timer.cancel()
    for task in wfe.activity_tasks:
        if task.state == 'SCHEDULED':  # else moto would still hand it to a worker
            task.state = 'CLOSED'
    link = getattr(wfe, 'ext_parent', None)
    if link is None or not link[0].open or wfe.close_status not in _CLOSES:
        return
    parent, initiated_event_id, started_event_id = link
    _, parent_event, keys = _CLOSES[wfe.close_status]
    closing = wfe._events[-1].event_attributes
    _add(parent, parent_event, initiated_event_id=initiated_event_id,
         started_event_id=started_event_id, workflow_execution=wfe.to_short_dict(),
         workflow_type=wfe.workflow_type,
         **{key: closing.get(moto_utils.underscores_to_camelcase(key)) for key in keys})
    parent.schedule_decision_task()


# --- child workflows and continue-as-new ------------------------------------------------------

_RUN_SETTINGS = (  # WorkflowExecution setting, WorkflowType default, cause if neither is set
    ('execution_start_to_close_timeout', 'default_execution_start_to_close_timeout',
     'DEFAULT_EXECUTION_START_TO_CLOSE_TIMEOUT_UNDEFINED'),
    ('task_list', 'task_list', 'DEFAULT_TASK_LIST_UNDEFINED'),
    ('task_start_to_close_timeout', 'default_task_start_to_close_timeout',
     'DEFAULT_TASK_START_TO_CLOSE_TIMEOUT_UNDEFINED'),
    ('child_policy', 'default_child_policy', 'DEFAULT_CHILD_POLICY_UNDEFINED'),
)


def _given_settings(attributes):
    given = {key: attributes.get(moto_utils.underscores_to_camelcase(key))
             for key, _, _ in _RUN_SETTINGS}
    given['task_list'] = (attributes.get('taskList') or {}).get('name')
    return given


def _start_child(self, event_id, attributes):
    name, version = attributes['workflowType']['name'], attributes['workflowType']['version']
    workflow_id = attributes['workflowId']
    wf_type = self.domain.get_type('workflow', name, version, ignore_empty=True)
    common = dict(workflow_id=workflow_id, control=attributes.get('control'),
                  decision_task_completed_event_id=event_id)

    def failed(cause, initiated_event_id=0):  # 0: no Initiated event, as in SWF
        _add(self, 'StartChildWorkflowExecutionFailed', cause=cause,
             initiated_event_id=initiated_event_id,
             workflow_type=wf_type or WorkflowType(name, version), **common)

    if wf_type is None:
        return failed('WORKFLOW_TYPE_DOES_NOT_EXIST')
    if wf_type.status == 'DEPRECATED':
        return failed('WORKFLOW_TYPE_DEPRECATED')
    settings = _given_settings(attributes)
    for key, default, cause in _RUN_SETTINGS:
        settings[key] = settings[key] or getattr(wf_type, default, None)
        if not settings[key]:
            return failed(cause)
    initiated = _add(self, 'StartChildWorkflowExecutionInitiated', workflow_type=wf_type,
                     input=attributes.get('input'), tag_list=attributes.get('tagList'),
                     task_priority=attributes.get('taskPriority'),
                     lambda_role=attributes.get('lambdaRole'), **settings, **common)
    if self.domain.get_workflow_execution(workflow_id, raise_if_none=False):
        return failed('WORKFLOW_ALREADY_RUNNING', initiated.event_id)
    child = WorkflowExecution(self.domain, wf_type, workflow_id, tag_list=attributes.get('tagList'),
                              workflow_input=attributes.get('input'), **settings)
    child.parent = self.to_short_dict()
    child.ext_started = {'parent_workflow_execution': self.to_short_dict(),
                         'parent_initiated_event_id': initiated.event_id}
    self.domain.add_workflow_execution(child)
    child.start()
    started = _add(self, 'ChildWorkflowExecutionStarted', initiated_event_id=initiated.event_id,
                   workflow_execution=child.to_short_dict(), workflow_type=wf_type)
    child.ext_parent = (self, initiated.event_id, started.event_id)
    self.child_workflow_executions.append(child)
    self.schedule_decision_task()


def _continue_as_new(self, event_id, attributes):
    def failed(cause):
        _add(self, 'ContinueAsNewWorkflowExecutionFailed', cause=cause,
             decision_task_completed_event_id=event_id)

    if _unhandled_events(self, event_id):
        return failed('UNHANDLED_DECISION')
    version = attributes.get('workflowTypeVersion') or self.workflow_type.version
    wf_type = self.domain.get_type('workflow', self.workflow_type.name, version,
                                   ignore_empty=True)
    if wf_type is None:
        return failed('WORKFLOW_TYPE_DOES_NOT_EXIST')
    if wf_type.status == 'DEPRECATED':
        return failed('WORKFLOW_TYPE_DEPRECATED')
    # Unset settings come from the old run (which resolved them from the type's defaults).
    settings = {key: value or getattr(self, key)
                for key, value in _given_settings(attributes).items()}
    new = WorkflowExecution(self.domain, wf_type, self.workflow_id, **settings,
                            tag_list=attributes.get('tagList') or self.tag_list,
                            workflow_input=attributes.get('input'))
    new.ext_started = {key: value for key, value in getattr(self, 'ext_started', {}).items()
                       if key.startswith('parent_')}
    new.ext_started['continued_execution_run_id'] = self.run_id
    link = getattr(self, 'ext_parent', None)
    if link:  # the parent goes on tracking the child under its new run
        new.ext_parent, new.parent = link, self.parent
        siblings = link[0].child_workflow_executions
        siblings[siblings.index(self)] = new
    self.execution_status, self.close_status = 'CLOSED', 'CONTINUED_AS_NEW'
    _add(self, 'WorkflowExecutionContinuedAsNew', decision_task_completed_event_id=event_id,
         new_execution_run_id=new.run_id, input=new.input, workflow_type=wf_type,
         tag_list=new.tag_list or None, task_priority=attributes.get('taskPriority'),
         **settings)
    _after_close(self)
    self.domain.add_workflow_execution(new)
    new.start()


# --- timers and activity cancellation ---------------------------------------------------------

def _cancel_timer(self, event_id, attributes):
    timer_id = attributes['timerId']
    timer = self._timers.get(timer_id)
    if timer is None or not timer.is_alive():
        _add(self, 'CancelTimerFailed', cause='TIMER_ID_UNKNOWN', timer_id=timer_id,
             decision_task_completed_event_id=event_id)
        return
    timer.cancel()
    del self._timers[timer_id]
    # moto names this event TimerCancelled, which botocore does not know.
    _add(self, 'TimerCanceled', timer_id=timer_id, started_event_id=timer.started_event_id,
         decision_task_completed_event_id=event_id)


def _fire_timer(self, started_event_id, timer_id):
    with _LOCK:  # runs on a timer thread, next to API calls
        if self.open:
            _orig(WorkflowExecution, '_fire_timer')(self, started_event_id, timer_id)


def _start_timer_thread(self):
    self.background_timer.daemon = True  # a pending long timer must not keep pytest alive
    self.background_timer.start()


def _request_cancel_activity(self, event_id, attributes):
    activity_id = attributes['activityId']
    task = next((t for t in self.activity_tasks if t.activity_id == activity_id and t.open),
                None)
    if task is None:
        _add(self, 'RequestCancelActivityTaskFailed', activity_id=activity_id,
             cause='ACTIVITY_ID_UNKNOWN', decision_task_completed_event_id=event_id)
        return
    task.ext_cancel_requested = _add(self, 'ActivityTaskCancelRequested', activity_id=activity_id,
                                     decision_task_completed_event_id=event_id).event_id
    if task.state == 'SCHEDULED':  # no worker has it: SWF cancels it at once
        _cancel_activity(task)


def _request_cancel_external(self, event_id, attributes):
    workflow_id, run_id = attributes['workflowId'], attributes.get('runId')
    common = dict(workflow_id=workflow_id, run_id=run_id, control=attributes.get('control'),
                  decision_task_completed_event_id=event_id)
    initiated = _add(self, 'RequestCancelExternalWorkflowExecutionInitiated', **common)
    target = self.domain.get_workflow_execution(workflow_id, run_id=run_id, raise_if_none=False,
                                                raise_if_closed=True)
    if target is None:
        _add(self, 'RequestCancelExternalWorkflowExecutionFailed',
             cause='UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION', initiated_event_id=initiated.event_id,
             **common)
        return
    # as RequestCancelWorkflowExecution does, but saying who asked
    target.cancel_requested = True
    _add(target, 'WorkflowExecutionCancelRequested', external_initiated_event_id=initiated.event_id,
         external_workflow_execution=self.to_short_dict())
    target.schedule_decision_task()
    _add(self, 'ExternalWorkflowExecutionCancelRequested', initiated_event_id=initiated.event_id,
         workflow_execution=target.to_short_dict())
    self.schedule_decision_task()


def _cancel_activity(task, details=None):
    wfe = task.workflow_execution
    task.state = 'CANCELED'
    _add(wfe, 'ActivityTaskCanceled', details=details, scheduled_event_id=task.scheduled_event_id,
         started_event_id=task.started_event_id,
         latest_cancel_requested_event_id=getattr(task, 'ext_cancel_requested', None))
    wfe.schedule_decision_task()


_DECISION_HANDLERS = {
    'CompleteWorkflowExecution': partial(_close_by_decision, 'COMPLETED',
                                         'CompleteWorkflowExecution'),
    'FailWorkflowExecution': partial(_close_by_decision, 'FAILED', 'FailWorkflowExecution'),
    'CancelWorkflowExecution': partial(_close_by_decision, 'CANCELED',
                                       'CancelWorkflowExecution'),
    'ContinueAsNewWorkflowExecution': _continue_as_new,
    'StartChildWorkflowExecution': _start_child,
    'CancelTimer': _cancel_timer,
    'RequestCancelActivityTask': _request_cancel_activity,
    'RequestCancelExternalWorkflowExecution': _request_cancel_external,
}


# --- activity tasks ---------------------------------------------------------------------------

def _activity_init(self, *args, **kwargs):
    _orig(ActivityTask, '__init__')(self, *args, **kwargs)
    self.scheduled_timestamp = moto_utils.unix_time()  # moto's scheduled_at ignores the clock


def _activity_start(self, started_event_id):
    _orig(ActivityTask, 'start')(self, started_event_id)
    # The heartbeat clock runs from the start (moto: from scheduling).
    self.started_timestamp = self.last_heartbeat_timestamp = moto_utils.unix_time()


def _activity_first_timeout(self):
    """The earliest reached of SWF's four activity timeouts (moto checks HEARTBEAT only)."""
    if not self.open or not self.workflow_execution.open:
        return None
    clocks = [('SCHEDULE_TO_CLOSE', 'scheduleToCloseTimeout', self.scheduled_timestamp)]
    if self.state == 'STARTED':
        clocks += [('START_TO_CLOSE', 'startToCloseTimeout', self.started_timestamp),
                   ('HEARTBEAT', 'heartbeatTimeout', self.last_heartbeat_timestamp)]
    else:
        clocks.append(('SCHEDULE_TO_START', 'scheduleToStartTimeout', self.scheduled_timestamp))
    timeouts = [Timeout(self, since + int(self.timeouts[key]), kind)
                for kind, key, since in clocks if self.timeouts.get(key, 'NONE') != 'NONE']
    return min((t for t in timeouts if t.reached), key=lambda t: t.timestamp, default=None)


# --- backend: task tokens ---------------------------------------------------------------------

def _find_task(backend, kind, token):
    """The started task with this token; UnknownResourceFault if used, timed out or closed."""
    for domain in backend.domains:
        for task in getattr(domain, f'{kind}_tasks'):
            if task.task_token == token:
                if task.state == 'STARTED' and task.workflow_execution.open:
                    return task
                raise SWFUnknownResourceFault(
                    f'{kind} task, scheduledEventId = {task.scheduled_event_id}')
    raise SWFValidationException('Invalid token')


def _respond_decision_task_completed(self, task_token, decisions=None, execution_context=None):
    self._process_timeouts()
    task = _find_task(self, 'decision', task_token)
    task.workflow_execution.complete_decision_task(
        task_token, decisions=decisions, execution_context=execution_context)


# --- responses: lock, polling, paging, sizes, new calls ---------------------------------------

def _note_empty_poll(_seconds):
    # Replaces moto's sleep(1) inside an empty poll, which would hold the lock.
    _local.empty_poll = True


def _call_action(self):
    _local.empty_poll = False
    with _LOCK:
        response = _orig(SWFResponse, 'call_action')(self)
    if _local.empty_poll:
        time.sleep(_settings['poll_wait'])
    return response


def _page_token(key, last_event_id):
    return base64.urlsafe_b64encode(json.dumps([key, last_event_id]).encode()).decode()


def _read_page_token(token, key=None):
    try:
        token_key, last_event_id = json.loads(base64.urlsafe_b64decode(token))
    except (ValueError, TypeError):
        token_key = last_event_id = None
    if not isinstance(last_event_id, int) or key not in (None, token_key):
        raise SWFValidationException('Invalid nextPageToken')
    return token_key, last_event_id


def _page(params, events, key, after=None):
    """The page of `events` (in the order asked for) that follows event id `after`."""
    size = params.get('maximumPageSize') or MAX_PAGE_SIZE
    if size > MAX_PAGE_SIZE:
        raise SWFValidationException(
            "1 validation error detected: Value at 'maximumPageSize' failed to satisfy "
            f'constraint: Member must have value less than or equal to {MAX_PAGE_SIZE}')
    size = min(size, _settings['page_size'])
    if after is not None:
        reverse = bool(params.get('reverseOrder'))
        events = [e for e in events if (e.event_id < after if reverse else e.event_id > after)]
    page = {'events': [event.to_dict() for event in events[:size]]}
    if len(events) > size:
        page['nextPageToken'] = _page_token(key, events[size - 1].event_id)
    return page


def _get_workflow_execution_history(self):
    params = self._params
    execution = params['execution']
    wfe = self.swf_backend.describe_workflow_execution(
        params['domain'], execution['runId'], execution['workflowId'])
    after = None
    if params.get('nextPageToken'):
        after = _read_page_token(params['nextPageToken'], wfe.run_id)[1]
    events = list(wfe.events(reverse_order=params.get('reverseOrder')))
    return json.dumps(_page(params, events, wfe.run_id, after))


def _poll_for_decision_task(self):
    params = self._params
    after = None
    if params.get('nextPageToken'):  # a further page of a task already handed out
        task_token, after = _read_page_token(params['nextPageToken'])
        task = next((t for domain in self.swf_backend.domains for t in domain.decision_tasks
                     if t.task_token == task_token), None)
        if task is None:
            raise SWFValidationException('Invalid nextPageToken')
    else:
        task = self.swf_backend.poll_for_decision_task(
            params['domain'], params['taskList']['name'], identity=params.get('identity'))
        if task is None:
            return json.dumps({'previousStartedEventId': 0, 'startedEventId': 0})
    wfe = task.workflow_execution
    # The task's history ends at its DecisionTaskStarted, whatever came in since.
    events = [e for e in wfe.events(reverse_order=params.get('reverseOrder'))
              if e.event_id <= task.started_event_id]
    body = {'taskToken': task.task_token, 'workflowExecution': wfe.to_short_dict(),
            'workflowType': task.workflow_type.to_short_dict(),
            'startedEventId': task.started_event_id,
            'previousStartedEventId': task.previous_started_event_id or 0}
    body.update(_page(params, events, task.task_token, after))
    return json.dumps(body)


def _record_activity_task_heartbeat(self):
    _orig(SWFResponse, 'record_activity_task_heartbeat')(self)
    task = self.swf_backend._find_activity_task_from_token(self._params['taskToken'])
    return json.dumps({'cancelRequested': bool(getattr(task, 'ext_cancel_requested', None))})


def _signal_workflow_execution(self):
    params = self._params  # moto requires `input`, which SWF does not
    self.swf_backend.signal_workflow_execution(
        params['domain'], params['signalName'], params['workflowId'], params.get('input'),
        params.get('runId'))
    return ''


def _request_cancel_workflow_execution(self):
    params = self._params
    self.swf_backend._process_timeouts()
    wfe = self.swf_backend._get_domain(params['domain']).get_workflow_execution(
        params['workflowId'], run_id=params.get('runId'), raise_if_closed=True)
    wfe.cancel_requested = True
    _add(wfe, 'WorkflowExecutionCancelRequested')
    wfe.schedule_decision_task()
    return ''


def _respond_activity_task_canceled(self):
    self.swf_backend._process_timeouts()
    task = self.swf_backend._find_activity_task_from_token(self._params['taskToken'])
    _cancel_activity(task, self._params.get('details'))
    return ''


_LIMITS = {**dict.fromkeys(('input', 'result', 'details', 'control', 'executionContext'),
                           DATA_LIMIT), 'reason': REASON_LIMIT}


def _check_sizes(value, limits, path=''):
    """Raise SWF's ValidationException for a too long field anywhere in a request."""
    if isinstance(value, list):
        for number, item in enumerate(value, 1):
            _check_sizes(item, limits, f'{path}.{number}.member')
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f'{path}.{key}' if path else key
            if isinstance(item, str) and len(item) > limits.get(key, len(item)):
                raise SWFValidationException(
                    f"1 validation error detected: Value at '{where}' failed to satisfy "
                    f'constraint: Member must have length less than or equal to {limits[key]}')
            _check_sizes(item, limits, where)


def _size_checked(action, limits):
    def checked(self):
        _check_sizes(self._params, limits)
        return action(self)
    return checked


_SIZE_CHECKED = {
    **dict.fromkeys(('start_workflow_execution', 'signal_workflow_execution',
                     'respond_decision_task_completed', 'respond_activity_task_completed',
                     'respond_activity_task_failed', 'respond_activity_task_canceled',
                     'terminate_workflow_execution'), _LIMITS),
    'record_activity_task_heartbeat': dict(_LIMITS, details=HEARTBEAT_DETAILS_LIMIT),
}

_REPLACEMENTS = {
    WorkflowExecution: {
        'open_counts': property(_open_counts, _keep_open_counts),
        'start': _start,
        '_schedule_decision_task': _schedule_decision_task,
        'validate_decisions': _validate_decisions,
        'handle_decisions': _handle_decisions,
        '_fire_timer': _fire_timer,
    },
    ActivityTask: {'__init__': _activity_init, 'start': _activity_start,
                   'first_timeout': _activity_first_timeout},
    DecisionTask: {'first_timeout': _decision_first_timeout},
    Timer: {'start': _start_timer_thread},
    SWFBackend: {
        '_find_activity_task_from_token': lambda self, token: _find_task(self, 'activity', token),
        'respond_decision_task_completed': _respond_decision_task_completed,
    },
    SWFResponse: {
        'call_action': _call_action,
        'get_workflow_execution_history': _get_workflow_execution_history,
        'poll_for_decision_task': _poll_for_decision_task,
        'record_activity_task_heartbeat': _record_activity_task_heartbeat,
        'signal_workflow_execution': _signal_workflow_execution,
        'request_cancel_workflow_execution': _request_cancel_workflow_execution,
        'respond_activity_task_canceled': _respond_activity_task_canceled,
    },
}
