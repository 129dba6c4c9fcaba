"""Test helpers for the SWF engine: realistic history events, SWF's API model, a fake SWF.

* :class:`EventLog` builds the ``events`` of a decision task exactly as boto3 returns
  them (ids from 1, timestamps, one ``<eventType>EventAttributes`` dict named after the
  type, field names of SWF's API);
* :func:`check_event` and :func:`check_decision` validate against botocore's SWF
  service model (field names, required fields, lengths, enums, SWF's id rules);
* :class:`SimulatedSWF` plays SWF for one execution: it turns the decisions of a
  response into the events SWF would record, runs activities and child workflows as
  Python functions, fires timers and schedules the next decision task; it can refuse
  starts for a rate or a limit (``throttle``), as a busy SWF does;
  :func:`run_on_swf` is the decider loop around it.  Given a payload ``store``
  (:mod:`flowy.swf.payload`), both sides use it as the engine does: the tasks read their
  inputs and send their results through it, and the decider resolves and stores.
"""

import functools
import json
import weakref
from datetime import datetime, timedelta, timezone

from flowy.drivers.replay import replay
from flowy.serialization import dumps, loads
from flowy.swf.decisions import CALL_LIMIT, MAX_DECISIONS, MAX_RESPONSE_BYTES
from flowy.swf.history import ExecutionHistory
from flowy.swf.packer import Packer, to_swf
from flowy.swf.payload import decode_field, encode_field

# -- SWF's API model -----------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def swf_shapes():
    """The shapes of botocore's SWF service model, or None without botocore."""
    try:
        from botocore.loaders import Loader
    except ImportError:
        return None
    return Loader().load_service_model('swf', 'service-2')['shapes']


# SWF's rule for ids and names (stated on each such field of the model)
ID_FIELDS = ('activityId', 'workflowId', 'timerId', 'markerName')
FORBIDDEN_IN_IDS = set(':/|') | {chr(c) for c in range(0x20)} | {chr(c) for c in
                                                                 range(0x7f, 0xa0)}


def check_shape(value, shape_name, path='', shapes=None):
    """Raise AssertionError unless ``value`` fits the model's shape ``shape_name``."""
    shapes = shapes or swf_shapes()
    shape = shapes[shape_name]
    kind = shape['type']
    where = path or shape_name
    if kind == 'structure':
        assert isinstance(value, dict), '%s: not a dict: %r' % (where, value)
        members = shape.get('members', {})
        unknown = set(value) - set(members)
        assert not unknown, '%s: fields not in %s: %s' % (where, shape_name, sorted(unknown))
        missing = set(shape.get('required', ())) - set(value)
        assert not missing, '%s: required fields missing: %s' % (where, sorted(missing))
        for name, item in value.items():
            check_shape(item, members[name]['shape'], '%s.%s' % (where, name), shapes)
            if name in ID_FIELDS:
                assert not FORBIDDEN_IN_IDS & set(item) and item != 'arn', (
                    '%s: %r breaks SWF id rules' % (where, item))
    elif kind == 'string':
        assert isinstance(value, str), '%s: not a string: %r' % (where, value)
        assert len(value) <= shape.get('max', len(value)), '%s: too long (%d)' % (
            where, len(value))
        assert len(value) >= shape.get('min', 0), '%s: too short' % where
        if 'enum' in shape:
            assert value in shape['enum'], '%s: %r not in %s' % (where, value, shape['enum'])
    elif kind == 'list':
        assert isinstance(value, list), '%s: not a list' % where
        assert len(value) <= shape.get('max', len(value)), '%s: too many items' % where
        for index, item in enumerate(value):
            check_shape(item, shape['member']['shape'], '%s[%d]' % (where, index), shapes)
    elif kind in ('long', 'integer'):
        assert type(value) is int, '%s: not an int' % where
    elif kind == 'timestamp':
        assert isinstance(value, datetime), '%s: not a datetime' % where
    elif kind == 'boolean':
        assert type(value) is bool, '%s: not a bool' % where
    else:  # pragma: no cover - SWF has no other kinds in these shapes
        raise AssertionError('%s: unexpected shape type %s' % (where, kind))


def attributes_name(event_type):
    """``activityTaskScheduledEventAttributes``: the key of an event's attributes, spelled
    out here to check the engine's :func:`~flowy.swf.events.attributes_key`."""
    return event_type[0].lower() + event_type[1:] + 'EventAttributes'


_PACKERS = weakref.WeakKeyDictionary()


def packer_of(execution):
    """The :class:`Packer` of the run whose history is ``execution`` (one per history, as
    the decider keeps them)."""
    packer = _PACKERS.get(execution)
    if packer is None:
        packer = _PACKERS[execution] = Packer(execution)
    return packer


def check_event(event):
    check_shape(event, 'HistoryEvent', 'event %s' % event.get('eventId'))
    names = [name for name in event if name.endswith('EventAttributes')]
    assert names == [attributes_name(event['eventType'])], (event['eventType'], names)


def check_decision(decision):
    check_shape(decision, 'Decision', decision.get('decisionType', 'decision'))
    names = [name for name in decision if name.endswith('DecisionAttributes')]
    kind = decision['decisionType']
    assert names in ([], [kind[0].lower() + kind[1:] + 'DecisionAttributes']), (kind, names)


# -- history events ------------------------------------------------------------------------

_START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
_MISSING = object()


class EventLog:
    """The history of one run, event by event: each method adds one and returns its id."""

    def __init__(self):
        self.events = []
        self._children = {}  # initiated event id -> (workflowExecution, workflowType)
        self._child_started = {}

    @property
    def last_id(self):
        return len(self.events)

    def add(self, event_type, **attributes):
        event_id = len(self.events) + 1
        self.events.append({
            'eventId': event_id,
            'eventType': event_type,
            'eventTimestamp': _START + timedelta(seconds=event_id),
            attributes_name(event_type): {name: value for name, value in attributes.items()
                                          if value is not None},
        })
        return event_id

    # the execution

    def workflow_started(self, input=None, name='Flow', version='1', task_list='decider',
                         child_policy='TERMINATE', execution_timeout='3600', task_timeout='10',
                         task_priority=None, tags=None, lambda_role=None, continued_from=None,
                         parent=None):
        return self.add('WorkflowExecutionStarted', input=input,
                        executionStartToCloseTimeout=execution_timeout,
                        taskStartToCloseTimeout=task_timeout, childPolicy=child_policy,
                        taskList={'name': task_list}, taskPriority=task_priority,
                        workflowType={'name': name, 'version': version}, tagList=tags,
                        continuedExecutionRunId=continued_from,
                        parentWorkflowExecution=parent,
                        parentInitiatedEventId=None if parent is None else 5,
                        lambdaRole=lambda_role)

    def cancel_requested(self, cause=None):
        return self.add('WorkflowExecutionCancelRequested', cause=cause)

    def signaled(self, name, input=None):
        return self.add('WorkflowExecutionSignaled', signalName=name, input=input)

    def workflow_completed(self, completed, result=None):
        return self.add('WorkflowExecutionCompleted', decisionTaskCompletedEventId=completed,
                        result=result)

    def workflow_failed(self, completed, reason=None, details=None):
        return self.add('WorkflowExecutionFailed', decisionTaskCompletedEventId=completed,
                        reason=reason, details=details)

    def continued_as_new(self, completed, attributes, name='Flow'):
        return self.add(
            'WorkflowExecutionContinuedAsNew', decisionTaskCompletedEventId=completed,
            newExecutionRunId='run-%d' % (self.last_id + 1), input=attributes.get('input'),
            executionStartToCloseTimeout=attributes.get('executionStartToCloseTimeout'),
            taskList=attributes.get('taskList', {'name': 'decider'}),
            taskPriority=attributes.get('taskPriority'),
            taskStartToCloseTimeout=attributes.get('taskStartToCloseTimeout'),
            childPolicy=attributes.get('childPolicy', 'TERMINATE'),
            tagList=attributes.get('tagList'),
            workflowType={'name': name, 'version': attributes.get('workflowTypeVersion', '1')},
            lambdaRole=attributes.get('lambdaRole'))

    # decision tasks

    def decision_scheduled(self, task_list='decider'):
        return self.add('DecisionTaskScheduled', taskList={'name': task_list},
                        startToCloseTimeout='10')

    def decision_started(self, scheduled):
        return self.add('DecisionTaskStarted', scheduledEventId=scheduled, identity='decider-1')

    def decision_completed(self, scheduled, started):
        return self.add('DecisionTaskCompleted', scheduledEventId=scheduled,
                        startedEventId=started)

    def decision_timed_out(self, scheduled, started):
        return self.add('DecisionTaskTimedOut', timeoutType='START_TO_CLOSE',
                        scheduledEventId=scheduled, startedEventId=started)

    def decision_round(self):
        """A whole decision task; returns the id of its DecisionTaskCompleted."""
        scheduled = self.decision_scheduled()
        return self.decision_completed(scheduled, self.decision_started(scheduled))

    # activities

    def activity_scheduled(self, key, completed, position=None, name='square', version='1',
                           input='[[1],{}]', task_list='tasks', control=_MISSING, **timeouts):
        if control is _MISSING:
            control = None if position is None else json.dumps({'position': position})
        return self.add('ActivityTaskScheduled', activityType={'name': name, 'version': version},
                        activityId=key, input=input, control=control,
                        taskList={'name': task_list}, decisionTaskCompletedEventId=completed,
                        **timeouts)

    def activity_started(self, scheduled):
        return self.add('ActivityTaskStarted', scheduledEventId=scheduled, identity='worker-1')

    def _started(self, scheduled, started):
        return self.activity_started(scheduled) if started is None else started

    def activity_completed(self, scheduled, result=None, started=None):
        started = self._started(scheduled, started)
        return self.add('ActivityTaskCompleted', scheduledEventId=scheduled,
                        startedEventId=started, result=result)

    def activity_failed(self, scheduled, reason=None, details=None, started=None):
        started = self._started(scheduled, started)
        return self.add('ActivityTaskFailed', scheduledEventId=scheduled,
                        startedEventId=started, reason=reason, details=details)

    def activity_timed_out(self, scheduled, timeout_type='START_TO_CLOSE', started=None,
                           details=None):
        if started is None and timeout_type in ('SCHEDULE_TO_START', 'SCHEDULE_TO_CLOSE'):
            started = 0  # it never started: SWF reports startedEventId 0
        started = self._started(scheduled, started)
        return self.add('ActivityTaskTimedOut', timeoutType=timeout_type,
                        scheduledEventId=scheduled, startedEventId=started, details=details)

    def activity_cancel_requested(self, key, completed):
        return self.add('ActivityTaskCancelRequested', decisionTaskCompletedEventId=completed,
                        activityId=key)

    def activity_canceled(self, scheduled, details=None, started=None, cancel_requested=None):
        started = self._started(scheduled, started)
        return self.add('ActivityTaskCanceled', scheduledEventId=scheduled,
                        startedEventId=started, details=details,
                        latestCancelRequestedEventId=cancel_requested)

    def schedule_activity_failed(self, key, cause, completed, name='square', version='1'):
        return self.add('ScheduleActivityTaskFailed',
                        activityType={'name': name, 'version': version}, activityId=key,
                        cause=cause, decisionTaskCompletedEventId=completed)

    # child workflows

    def child_initiated(self, key, completed, workflow_id, position=None, name='Sub',
                        version='1', input='[[1],{}]', control=_MISSING, task_list='decider',
                        child_policy='TERMINATE', **options):
        if control is _MISSING:
            control = json.dumps({'key': key, 'position': position})
        event_id = self.add('StartChildWorkflowExecutionInitiated', workflowId=workflow_id,
                            workflowType={'name': name, 'version': version}, control=control,
                            input=input, taskList={'name': task_list},
                            decisionTaskCompletedEventId=completed, childPolicy=child_policy,
                            **options)
        self._children[event_id] = ({'workflowId': workflow_id, 'runId': 'run-%d' % event_id},
                                    {'name': name, 'version': version})
        return event_id

    def child_started(self, initiated):
        execution, workflow_type = self._children[initiated]
        started = self.add('ChildWorkflowExecutionStarted', workflowExecution=execution,
                           workflowType=workflow_type, initiatedEventId=initiated)
        self._child_started[initiated] = started
        return started

    def _child(self, event_type, initiated, **attributes):
        if initiated not in self._child_started:
            self.child_started(initiated)
        execution, workflow_type = self._children[initiated]
        return self.add(event_type, workflowExecution=execution, workflowType=workflow_type,
                        initiatedEventId=initiated, startedEventId=self._child_started[initiated],
                        **attributes)

    def child_completed(self, initiated, result=None):
        return self._child('ChildWorkflowExecutionCompleted', initiated, result=result)

    def child_failed(self, initiated, reason=None, details=None):
        return self._child('ChildWorkflowExecutionFailed', initiated, reason=reason,
                           details=details)

    def child_timed_out(self, initiated):
        return self._child('ChildWorkflowExecutionTimedOut', initiated,
                           timeoutType='START_TO_CLOSE')

    def child_canceled(self, initiated, details=None):
        return self._child('ChildWorkflowExecutionCanceled', initiated, details=details)

    def child_terminated(self, initiated):
        return self._child('ChildWorkflowExecutionTerminated', initiated)

    def start_child_failed(self, workflow_id, cause, completed, initiated=0, control=None,
                           name='Sub', version='1'):
        return self.add('StartChildWorkflowExecutionFailed',
                        workflowType={'name': name, 'version': version}, cause=cause,
                        workflowId=workflow_id, initiatedEventId=initiated,
                        decisionTaskCompletedEventId=completed, control=control)

    # timers and markers

    def timer_started(self, timer_id, completed, seconds='5', control=None):
        return self.add('TimerStarted', timerId=timer_id, control=control,
                        startToFireTimeout=seconds, decisionTaskCompletedEventId=completed)

    def timer_fired(self, timer_id, started):
        return self.add('TimerFired', timerId=timer_id, startedEventId=started)

    def timer_canceled(self, timer_id, started, completed):
        return self.add('TimerCanceled', timerId=timer_id, startedEventId=started,
                        decisionTaskCompletedEventId=completed)

    def start_timer_failed(self, timer_id, cause, completed):
        return self.add('StartTimerFailed', timerId=timer_id, cause=cause,
                        decisionTaskCompletedEventId=completed)

    def marker_recorded(self, name, details, completed):
        return self.add('MarkerRecorded', markerName=name, details=details,
                        decisionTaskCompletedEventId=completed)

    def record_marker_failed(self, name, completed, cause='OPERATION_NOT_PERMITTED'):
        return self.add('RecordMarkerFailed', markerName=name, cause=cause,
                        decisionTaskCompletedEventId=completed)


def pages(events, size):
    """``events`` in pages of ``size`` (one page if size is None)."""
    if not size:
        return [list(events)]
    return [events[start:start + size] for start in range(0, len(events), size)]


# -- a fake SWF ----------------------------------------------------------------------------


THROTTLED = {'activity': 'ACTIVITY_CREATION_RATE_EXCEEDED',
             'child': 'CHILD_CREATION_RATE_EXCEEDED',
             'timer': 'TIMER_CREATION_RATE_EXCEEDED'}


class SimulatedSWF:
    """One workflow execution on a tiny in-memory SWF.

    ``activities`` and ``children`` map type names to Python functions.  Activity ids in
    ``time_out`` time out (once each), those in ``fail`` fail with the given reason.
    ``throttle`` maps an activityId, a child's call key (or workflowId) or a timerId to
    how many times SWF refuses to start it, for a rate (an int: the rate cause of its
    kind, :data:`THROTTLED`), or to the list of causes of its refusals in turn:
    ``throttle={'square-0-0': 2}`` refuses that start twice (``refused`` lists every
    refusal, ``(id, cause)``).  A refusal schedules a decision task, as on SWF.
    After a response, :meth:`advance` runs every open task, fires every timer and
    schedules a decision task if anything happened (``reverse=True`` finishes the open
    tasks newest first).  ``signals`` (``(name, input text)`` pairs) arrive one per
    :meth:`advance`, before anything else of it.  Cancel requests are carried out as SWF
    does: an activity whose cancel was requested reports ActivityTaskCanceled at the next
    advance, a child asked to cancel closes cancelled then, a timer is dropped.  What is
    in ``hold`` (activityIds, child workflowIds, timerIds) stays open until cancelled.
    ``workers``: how many activities finish per :meth:`advance` (the oldest first; the
    others wait on their task list, not started), as when workers are behind.
    """

    def __init__(self, input, workflow_id='order-7', activities=None, children=None,
                 time_out=(), fail=None, reverse=False, store=None, throttle=None, signals=(),
                 hold=(), workers=None, **start):
        self.workflow_id = workflow_id
        self.workers = workers
        self.hold = set(hold)  # activityIds, child workflowIds, timerIds that run until cancelled
        self.signals = list(signals)
        self.cancelling = {}  # ActivityTaskScheduled or child Initiated id -> request id
        self.store = store
        self.activities = activities or {}
        self.children = children or {}
        self.time_out = set(time_out)
        self.fail = dict(fail or {})
        self.throttle = {name: [None] * causes if type(causes) is int else list(causes)
                         for name, causes in (throttle or {}).items()}
        self.refused = []  # (id, cause) of every start refused for a rate or limit
        self._news = False  # a refusal since the last advance()
        self.reverse = reverse
        self.log = EventLog()
        self.log.workflow_started(input=input, **start)
        self._scheduled = self.log.decision_scheduled()
        self._started = None
        self.open_activities = {}  # ActivityTaskScheduled id -> attributes
        self.open_children = {}  # StartChildWorkflowExecutionInitiated id -> attributes
        self.open_timers = {}  # timerId -> TimerStarted id
        self.responses = []  # the decisions of every response, in order
        self.closed = None  # (decisionType, attributes) of the decision that closed the run

    def poll(self):
        """Start the scheduled decision task; return the whole history so far."""
        assert self._scheduled is not None, 'no decision task is scheduled'
        self._started = self.log.decision_started(self._scheduled)
        return list(self.log.events)

    def respond(self, decisions):
        assert len(decisions) <= MAX_DECISIONS, len(decisions)
        assert len(json.dumps(decisions)) <= MAX_RESPONSE_BYTES, len(json.dumps(decisions))
        if swf_shapes() is not None:
            for decision in decisions:
                check_decision(decision)
        self.responses.append(decisions)
        log = self.log
        completed = log.decision_completed(self._scheduled, self._started)
        self._scheduled = self._started = None
        for decision in decisions:
            kind = decision['decisionType']
            attributes = decision.get(kind[0].lower() + kind[1:] + 'DecisionAttributes', {})
            if self._refuses(kind, attributes, completed):
                continue
            if kind == 'ScheduleActivityTask':
                event_id = log.activity_scheduled(
                    attributes['activityId'], completed,
                    name=attributes['activityType']['name'],
                    version=attributes['activityType']['version'],
                    input=attributes.get('input'), control=attributes.get('control'),
                    task_list=attributes.get('taskList', {'name': 'tasks'})['name'])
                self.open_activities[event_id] = attributes
            elif kind == 'StartChildWorkflowExecution':
                event_id = log.child_initiated(
                    None, completed, attributes['workflowId'],
                    name=attributes['workflowType']['name'],
                    version=attributes['workflowType']['version'],
                    input=attributes.get('input'), control=attributes.get('control'),
                    child_policy=attributes.get('childPolicy', 'TERMINATE'))
                self.open_children[event_id] = attributes
            elif kind == 'StartTimer':
                timer_id = attributes['timerId']
                if timer_id in self.open_timers:
                    log.start_timer_failed(timer_id, 'TIMER_ID_ALREADY_IN_USE', completed)
                else:
                    self.open_timers[timer_id] = log.timer_started(
                        timer_id, completed, attributes['startToFireTimeout'],
                        control=attributes.get('control'))
            elif kind in _CANCELS:
                _CANCELS[kind](self, attributes, completed)
            elif kind == 'CancelWorkflowExecution':
                log.add('WorkflowExecutionCanceled', decisionTaskCompletedEventId=completed,
                        details=attributes.get('details'))
                self.closed = (kind, attributes)
            elif kind == 'RecordMarker':
                log.marker_recorded(attributes['markerName'], attributes.get('details'),
                                    completed)
            elif kind == 'CompleteWorkflowExecution':
                log.workflow_completed(completed, attributes.get('result'))
                self.closed = (kind, attributes)
            elif kind == 'FailWorkflowExecution':
                log.workflow_failed(completed, attributes.get('reason'),
                                    attributes.get('details'))
                self.closed = (kind, attributes)
            elif kind == 'ContinueAsNewWorkflowExecution':
                log.continued_as_new(completed, attributes)
                self.closed = (kind, attributes)
            else:  # pragma: no cover - flowy's decider makes no other decisions
                raise AssertionError('unexpected decision %s' % kind)

    def _refuses(self, kind, attributes, completed):
        """Refuse the start ``kind`` if ``throttle`` says so: record it, return True."""
        if kind == 'ScheduleActivityTask':
            names, what = [attributes['activityId']], 'activity'
        elif kind == 'StartChildWorkflowExecution':
            control = json.loads(attributes.get('control') or '{}')
            names, what = [control.get('key'), attributes['workflowId']], 'child'
        elif kind == 'StartTimer':
            names, what = [attributes['timerId']], 'timer'
        else:
            return False
        for name in names:
            causes = self.throttle.get(name)
            if causes:
                break
        else:
            return False
        cause = causes.pop(0) or THROTTLED[what]
        log = self.log
        if what == 'activity':
            log.schedule_activity_failed(names[0], cause, completed,
                                         name=attributes['activityType']['name'],
                                         version=attributes['activityType']['version'])
        elif what == 'child':
            log.start_child_failed(names[1], cause, completed,
                                   control=attributes.get('control'),
                                   name=attributes['workflowType']['name'],
                                   version=attributes['workflowType']['version'])
        else:
            log.start_timer_failed(names[0], cause, completed)
        self.refused.append((names[-1] if what == 'child' else names[0], cause))
        self._news = True
        return True

    def advance(self):
        """Finish every open task and fire every timer; True if anything happened.

        A refused start (``throttle``) counts: SWF schedules a decision task for it.
        """
        log = self.log
        happened, self._news = self._news, False
        if self.signals:
            log.signaled(*self.signals.pop(0))
            happened = True
        activities = list(self.open_activities.items())
        children = list(self.open_children.items())
        if self.reverse:
            activities.reverse()
            children.reverse()
        if self.workers is not None:
            activities = activities[:self.workers]
        for event_id, attributes in activities:
            key = attributes['activityId']
            if key in self.hold and event_id not in self.cancelling:
                continue
            del self.open_activities[event_id]
            if event_id in self.cancelling:
                log.activity_canceled(event_id, cancel_requested=self.cancelling.pop(event_id))
            elif key in self.time_out:
                self.time_out.discard(key)
                log.activity_timed_out(event_id)
            elif key in self.fail:
                log.activity_failed(event_id, reason=self.fail.pop(key))
            else:
                args, kwargs = loads(decode_field(attributes['input'], self.store))
                function = self.activities[attributes['activityType']['name']]
                log.activity_completed(event_id, result=self._result(key, function(*args,
                                                                                **kwargs)))
            happened = True
        for event_id, attributes in children:
            if attributes['workflowId'] in self.hold and event_id not in self.cancelling:
                continue
            del self.open_children[event_id]
            if self.cancelling.pop(event_id, None) is not None:
                log.child_canceled(event_id)
                happened = True
                continue
            args, kwargs = loads(decode_field(attributes['input'], self.store))
            function = self.children[attributes['workflowType']['name']]
            log.child_completed(event_id, result=self._result(attributes['workflowId'],
                                                              function(*args, **kwargs)))
            happened = True
        for timer_id, started in list(self.open_timers.items()):
            if timer_id in self.hold:
                continue
            del self.open_timers[timer_id]
            log.timer_fired(timer_id, started)
            happened = True
        if happened:
            self._scheduled = log.decision_scheduled()
        return happened

    def _result(self, name, value):
        return encode_field(dumps(value), 'the result of %s' % name, self.store)


def _cancel_timer(sim, attributes, completed):
    timer_id = attributes['timerId']
    started = sim.open_timers.pop(timer_id, None)
    if started is None:
        sim.log.add('CancelTimerFailed', timerId=timer_id, cause='TIMER_ID_UNKNOWN',
                    decisionTaskCompletedEventId=completed)
        sim._news = True
    else:
        sim.log.timer_canceled(timer_id, started, completed)


def _cancel_activity(sim, attributes, completed):
    key = attributes['activityId']
    found = next((event_id for event_id, scheduled in sim.open_activities.items()
                  if scheduled['activityId'] == key), None)
    if found is None:
        sim.log.add('RequestCancelActivityTaskFailed', activityId=key,
                    cause='ACTIVITY_ID_UNKNOWN', decisionTaskCompletedEventId=completed)
        sim._news = True
    else:
        sim.cancelling[found] = sim.log.activity_cancel_requested(key, completed)


def _cancel_child(sim, attributes, completed):
    workflow_id = attributes['workflowId']
    common = dict(workflowId=workflow_id, runId=attributes.get('runId'),
                  control=attributes.get('control'), decisionTaskCompletedEventId=completed)
    initiated = sim.log.add('RequestCancelExternalWorkflowExecutionInitiated', **common)
    found = next((event_id for event_id, started in sim.open_children.items()
                  if started['workflowId'] == workflow_id), None)
    if found is None:
        del common['decisionTaskCompletedEventId']
        sim.log.add('RequestCancelExternalWorkflowExecutionFailed', initiatedEventId=initiated,
                    cause='UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION',
                    decisionTaskCompletedEventId=completed, **common)
        sim._news = True
    else:
        sim.cancelling[found] = initiated
        sim.log.add('ExternalWorkflowExecutionCancelRequested', initiatedEventId=initiated,
                    workflowExecution={'workflowId': workflow_id, 'runId': 'child-run'})
        sim._news = True


_CANCELS = {'CancelTimer': _cancel_timer, 'RequestCancelActivityTask': _cancel_activity,
            'RequestCancelExternalWorkflowExecution': _cancel_child}


def run_on_swf(config, task_types, sim, driver=replay, page_size=None, limit=CALL_LIMIT,
               fresh=False, max_rounds=500):
    """The decider loop against ``sim`` until the run closes; returns the ExecutionHistory.

    Every decision task feeds the whole history again, page by page, into the same
    ExecutionHistory (already seen events are skipped), or into a new one each time
    with ``fresh=True`` (a decider without a sticky cache; replay only).  The decider
    uses ``sim.store``.
    """
    store = sim.store
    execution = ExecutionHistory(sim.workflow_id, store=store)
    for _ in range(max_rounds):
        if fresh:
            execution = ExecutionHistory(sim.workflow_id, store=store)
        for page in pages(sim.poll(), page_size):
            execution.feed(page)
        decision = driver(config, execution.input, execution.history, limit=limit)
        sim.respond(to_swf(decision, task_types, packer_of(execution), store=store))
        if sim.closed:
            if swf_shapes() is not None:
                for event in sim.log.events:
                    check_event(event)
            return execution
        if not sim.advance():
            raise AssertionError('the workflow waits for nothing that runs: %r' % (decision,))
    raise AssertionError('no outcome after %d decision tasks' % max_rounds)


def result_of(sim):
    """The value of the CompleteWorkflowExecution that closed ``sim``."""
    kind, attributes = sim.closed
    assert kind == 'CompleteWorkflowExecution', sim.closed
    return loads(decode_field(attributes['result'], sim.store))
