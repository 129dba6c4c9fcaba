"""Read an SWF workflow execution's history events into a flowy :class:`History`.

:class:`ExecutionHistory` consumes the ``events`` of ``poll_for_decision_task`` (or
``get_workflow_execution_history``) exactly as boto3 returns them, one page at a time,
and keeps:

* ``history``: the :class:`flowy.history.History` the drivers replay against (what
  happened to each call key, in the order SWF reported it);
* the start information of the run (from ``WorkflowExecutionStarted``), which a
  continue-as-new carries over;
* the retry and back-off timers, pending and fired, the refusals of each call, and
  whether a cancellation was requested.

It only reads events: what the decider keeps between responses (calls sent, waiting for
a timer or left for the next response) is the :class:`~flowy.swf.packer.Packer`'s.
Calls are recognized by the names flowy gives them on SWF (:mod:`flowy.swf.names`).
Events must come in order, each once, from event 1 on; an event that lacks an
attribute flowy reads, or holds one of another type, is a :class:`HistoryError` that
names the event, its type and the attribute (:mod:`flowy.swf.events`).

Every way a started task can end is an outcome: completion, failure, timeout,
cancellation, termination, and a start SWF refused for good (``ScheduleActivityTaskFailed``,
``StartChildWorkflowExecutionFailed``, ``StartTimerFailed`` of a retry or back-off timer,
with a cause that starting again cannot cure: a type missing or deprecated, a default
undefined, OPERATION_NOT_PERMITTED) are all recorded, so no call waits forever.  A refusal
of a decision that only repeated an attempt already in the history (an id already in use)
is ignored: the first attempt's own events decide.  Reasons longer than SWF's 256
characters travel cut, with the full text in ``details``; when the details start with
the reason, they are taken as the reason.

**Throttled starts.**  A refusal for a rate or a limit (:data:`THROTTLE_CAUSES`:
ACTIVITY_CREATION_RATE_EXCEEDED, OPEN_ACTIVITIES_LIMIT_EXCEEDED,
CHILD_CREATION_RATE_EXCEEDED, OPEN_CHILDREN_LIMIT_EXCEEDED, OPEN_WORKFLOWS_LIMIT_EXCEEDED,
TIMER_CREATION_RATE_EXCEEDED, OPEN_TIMERS_LIMIT_EXCEEDED) is not an outcome: it passes.
The history counts such refusals per call key (:meth:`ExecutionHistory.refusals`), and
after the ``n``-th the call waits for its back-off timer ``<key>.backoff.<n>``
(:func:`~flowy.swf.names.backoff_delay` seconds: 1, 2, 4 ... up to
:data:`~flowy.swf.names.BACKOFF_CAP`, plus a jitter drawn from the key, so every replay
computes the same) before :func:`flowy.swf.packer.to_swf` starts it again, with the same
key.  The refused start may be the task's own, its retry timer's or its back-off
timer's; what starts after the back-off is whatever the call still needs (its retry
timer if that has not fired, else the task).  All of it is read from the events alone,
so a decider that reads a history afresh decides what one that kept it does.  A call
refused :data:`MAX_REFUSALS` times fails, with a reason that says SWF kept refusing it.

Values too large for SWF travel as references to a payload store
(:mod:`flowy.swf.payload`); given the ``store``, the workflow input and the results of
activities and child workflows are resolved as they are fed, so the drivers only see
values.  When a reference cannot be resolved:

* the object is gone for good (:class:`~flowy.swf.payload.PayloadMissing`: deleted,
  expired, or not what was stored): the call fails, with a reason that names the
  reference, and the workflow sees a :class:`flowy.TaskError` like any other failure
  (its ``__cause__`` is the PayloadMissing).  Nothing could ever read that result, and
  the workflow may well know how to go on without it;
* the workflow input is gone for good: :class:`HistoryError` (from the PayloadMissing):
  the run can never start, and the decider should fail it with that message;
* anything else (no store configured, the store unreachable, throttled or forbidden) is
  the decider's trouble, not the workflow's: the :class:`~flowy.swf.payload.PayloadError`
  propagates from :meth:`ExecutionHistory.feed` before the event is consumed, so the
  history stays as it was and feeding the same page again (say, at the next attempt of
  the decision task) tries again.  Failing the call for it would change the run's
  outcome for a fault that a retry, or a fixed configuration, would cure.

Work per event is constant: every lookup is a dict or set access (and a reference is
read once, when its event is fed).
"""

import json

from ..errors import FlowyError
from ..history import History
from . import effect_events
from .backlog import Backlog
from .events import (
    HistoryError,
    Malformed,
    check_sequence,
    event_attributes,
    event_id,
    event_type,
    malformed,
    mapping,
    number,
    optional_number,
    optional_text,
    text,
    text_list,
)
from .failures import extra_details, failure_type, full_reason
from .names import (
    CALL_FAILED_MARKER,
    backoff_timer_id,
    child_key_of,
    retry_timer_id,
    run_tag,
    timer_of,
)
from .payload import PayloadMissing, decode_field, is_reference

__all__ = ['ExecutionHistory', 'SWFFailure', 'THROTTLE_CAUSES', 'MAX_REFUSALS', 'read_history']

# SWF's causes of a refused start that pass: a rate, or a limit of open tasks
THROTTLE_CAUSES = frozenset([
    'ACTIVITY_CREATION_RATE_EXCEEDED', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED',
    'CHILD_CREATION_RATE_EXCEEDED', 'OPEN_CHILDREN_LIMIT_EXCEEDED',
    'OPEN_WORKFLOWS_LIMIT_EXCEEDED',
    'TIMER_CREATION_RATE_EXCEEDED', 'OPEN_TIMERS_LIMIT_EXCEEDED'])
MAX_REFUSALS = 10  # throttled refusals of one call key before the call fails


class SWFFailure(FlowyError):
    """What SWF reported about a task that failed, was cancelled or could not start.

    It is the ``__cause__`` of the :class:`flowy.TaskError` the workflow sees:
    ``event_type`` names the event, ``cause`` is SWF's cause code when there is one
    (``ACTIVITY_TYPE_DOES_NOT_EXIST``), ``details`` the details the task reported
    beyond its reason (an activity's traceback), and ``type_name`` the name of the type
    of the exception an activity raised (from the details flowy's activity worker
    sends; None otherwise).  The error carries the last two as its ``traceback`` and
    ``type_name``.
    """

    def __init__(self, reason, event_type, cause=None, details=None, type_name=None):
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type
        self.cause = cause
        self.details = details
        self.type_name = type_name

    @property
    def remote_type(self):
        return self.type_name

    @property
    def remote_traceback(self):
        return self.details

    def __reduce__(self):
        return type(self), (self.reason, self.event_type, self.cause, self.details,
                            self.type_name)


def read_history(events, workflow_id=None, store=None, last=None):
    """A whole history read into a fresh :class:`ExecutionHistory`.

    ``events`` must be numbered 1, 2, 3 ... in order, each once, up to ``last`` if it is
    given (:func:`~flowy.swf.events.check_sequence`), and begin with the start of the
    run; else :class:`HistoryError` (:class:`~flowy.swf.events.MissingEvents` for a gap).
    """
    check_sequence(events, last=last)
    execution = ExecutionHistory(workflow_id, store=store)
    execution.feed(events)
    if not execution.started:
        found = 'event 1 is %s' % event_type(events[0]) if events else 'it has no events'
        raise HistoryError('the history does not begin with WorkflowExecutionStarted (%s)'
                           % found)
    return execution


def _control(attributes):
    """The JSON object in ``control``, or an empty dict if it is missing or not ours."""
    control = optional_text(attributes, 'control')
    if not control:
        return {}
    try:
        value = json.loads(control)
    except ValueError:
        return {}
    return value if type(value) is dict else {}


def _position(control):
    position = control.get('position')
    return position if type(position) is int and position >= 0 else None


def _reason(attributes, default):
    """The whole reason an event gives (flowy sends it in the details; see failures)."""
    return full_reason(optional_text(attributes, 'reason'), optional_text(attributes, 'details'),
                       default)


def _type_name(attributes, field):
    kind = mapping(attributes, field, ('name', 'version'))
    return '%s (version %s)' % (kind.get('name', '?'), kind.get('version', '?'))


def _what(event_type):
    return 'activity' if event_type.startswith('Activity') else 'child workflow'


class ExecutionHistory:
    """The state of one SWF workflow run, built incrementally from its history events.

    ``feed(events)`` takes successive pages in event id order; events at or below
    ``last_event_id`` are skipped, so feeding a page again (or a whole history after a
    part of it) changes nothing.  ``workflow_id`` (from the decision task's
    ``workflowExecution``) names child workflows; it is not in the events.  ``store``
    (a :class:`~flowy.swf.payload.PayloadStore`) resolves the payload references in the
    workflow input and in call results (see the module documentation for failures).

    Start information (None until ``WorkflowExecutionStarted`` was fed): ``started``,
    ``workflow_name``, ``workflow_version``, ``input``, ``task_list``, ``task_priority``,
    ``task_start_to_close_timeout``, ``execution_start_to_close_timeout``, ``tag_list``,
    ``child_policy``, ``lambda_role``, ``continued_execution_run_id``,
    ``parent_workflow_execution``, and ``run_tag`` (:func:`~flowy.swf.names.run_tag`:
    None in a first run), which goes into the ids of this run's child workflows.
    """

    def __init__(self, workflow_id=None, store=None):
        self.workflow_id = workflow_id
        self.store = store
        self.history = History()
        self.started = False
        self.workflow_name = None
        self.workflow_version = None
        self.input = None
        self.task_list = None
        self.task_priority = None
        self.task_start_to_close_timeout = None
        self.execution_start_to_close_timeout = None
        self.tag_list = []
        self.child_policy = None
        self.lambda_role = None
        self.continued_execution_run_id = None
        self.parent_workflow_execution = None
        self.run_tag = None
        self.cancel_requested = False
        self.event_count = 0
        self.last_event_id = 0
        self._activities = {}  # eventId of ActivityTaskScheduled -> key
        self.backlog = Backlog()  # the activities waiting on their task lists
        self._children = {}  # eventId of StartChildWorkflowExecutionInitiated -> key
        self._child_ids = {}  # child workflowId -> key
        self._repeated = set()  # eventIds of schedules of a key the history already had
        self._pending_timers = set()
        self._fired_timers = set()
        self._refusals = {}  # call key -> its throttled refusals so far
        self.started_kinds = {}  # key -> ('activity'|'child'|'timer', child workflowId)
        self.child_run_ids = {}  # child key -> its runId, once started
        self.cancelled_keys = set()  # keys cancelled on request: their later events pass
        self.markers = []  # (name, key) of the body's markers, in order

    def __repr__(self):
        return '<ExecutionHistory %s events=%d last=%d>' % (
            self.workflow_id, self.event_count, self.last_event_id)

    # -- feeding ----------------------------------------------------------------------

    def feed(self, events):
        """Consume ``events`` (one page, in order); return how many were new.

        Raises :class:`HistoryError` for events that do not fit the history (malformed,
        out of order, or after a gap), and :class:`~flowy.swf.payload.PayloadError` when
        a payload reference could not be read for now; the events before the one that
        raised are consumed, the others are not (feed the page again to go on).
        """
        last = self.last_event_id
        news = [event for event in events if event_id(event) > last]
        check_sequence(news, last + 1)
        for event in news:
            self._consume(event)
            self.last_event_id += 1
            self.event_count += 1
        return len(news)

    def _consume(self, event):
        kind = event_type(event)
        if kind == 'DecisionTaskStarted':
            # now() of the body: the time of the decision task being decided
            stamp = effect_events.decision_time(event)
            if stamp is not None:
                self.history.now = stamp
            return
        handler = _HANDLERS.get(kind)
        if handler is None:
            return
        attributes = event_attributes(event, kind, required=kind not in _NO_ATTRIBUTES)
        try:
            handler(self, self.last_event_id + 1, kind, attributes)
        except Malformed as exc:
            raise malformed(event, exc) from None

    # -- queries ------------------------------------------------------------------------

    def timer_pending(self, key):
        """Whether the retry timer before attempt ``key`` was started and has not ended."""
        return retry_timer_id(key) in self._pending_timers

    def timer_fired(self, key):
        """Whether the retry timer before attempt ``key`` fired (the attempt may start)."""
        return retry_timer_id(key) in self._fired_timers

    def refusals(self, key):
        """How many times SWF refused to start ``key`` (or its timers) for a rate or limit."""
        return self._refusals.get(key, 0)

    def backoff_pending(self, key):
        """Whether the back-off timer after the last throttled refusal of ``key`` runs."""
        refusals = self._refusals.get(key)
        return bool(refusals) and backoff_timer_id(key, refusals) in self._pending_timers

    def backoff_fired(self, key):
        """Whether ``key`` may start again: never refused, or its last back-off fired."""
        refusals = self._refusals.get(key)
        return not refusals or backoff_timer_id(key, refusals) in self._fired_timers

    def child_key(self, workflow_id):
        """The call key of the child workflow ``workflow_id`` this run started, or None."""
        return self._child_ids.get(workflow_id)

    def child_key_at(self, initiated_event_id):
        """The key of the child whose StartChildWorkflowExecutionInitiated is that event."""
        return self._children.get(initiated_event_id)

    def child_run_id(self, key):
        """The runId of child workflow ``key`` once it started, else None."""
        return self.child_run_ids.get(key)

    def started_as(self, key):
        """``(kind, child workflowId)`` of what SWF started for ``key``: kind is
        ``'activity'``, ``'child'``, ``'timer'`` (a body's timer), or None."""
        return self.started_kinds.get(key, (None, None))

    def running(self):
        """The keys of the activities, child workflows and body timers still running."""
        history = self.history
        return [key for key in self.started_kinds
                if history.get(key) is not None and history.get(key).state == 'running']

    # -- recording ----------------------------------------------------------------------

    def _schedule(self, event_id, key, position, index):
        if self.history.get(key) is not None:
            # SWF accepted a second start of an attempt it already had: its events are
            # not this attempt's outcome.
            self._repeated.add(event_id)
            return False
        index[event_id] = key
        self.history.scheduled(key, position)
        return True

    def _finished(self, call):
        try:
            call()
        except ValueError as exc:
            raise HistoryError(str(exc)) from None

    def _key(self, index, event_id, event_type, referred):
        key = index.get(referred)
        if key is None and referred not in self._repeated:
            raise HistoryError(
                '%s (event %s) refers to event %s, which this history has not seen; feed '
                'every page of the history, in order' % (event_type, event_id, referred))
        return key

    def _activity_key(self, event_id, event_type, attributes):
        scheduled = number(attributes, 'scheduledEventId')
        self.backlog.ended(scheduled)  # it may end without starting (a timeout, a cancel)
        return self._key(self._activities, event_id, event_type, scheduled)

    def _child_key(self, event_id, event_type, attributes):
        referred = optional_number(attributes, 'initiatedEventId')
        if referred is not None:
            return self._key(self._children, event_id, event_type, referred)
        # not in SWF's events, but cheap to allow: by workflowId
        workflow_id = mapping(attributes, 'workflowExecution', ('workflowId',)).get('workflowId')
        key = self._child_ids.get(workflow_id)
        if key is None:
            raise HistoryError('%s (event %s) is about the child workflow %s, which this '
                               'history has not seen' % (event_type, event_id, workflow_id))
        return key

    def _complete(self, key, attributes):
        result = optional_text(attributes, 'result')
        if is_reference(result):
            try:
                result = decode_field(result, self.store, 'the result of %s' % key)
            except PayloadMissing as exc:
                error, reason = exc, 'cannot read %s' % exc
                self._finished(lambda: self.history.failed(key, reason, error))
                return
        self._finished(lambda: self.history.completed(key, 'null' if result is None else result))

    def _fail(self, key, reason, event_type, cause=None, details=None, position=None,
              type_name=None):
        failure = SWFFailure(reason, event_type, cause, details, type_name)
        self._finished(lambda: self.history.failed(key, reason, failure, position))

    def _refused(self, key, reason, event_type, cause, position=None):
        """SWF refused to start ``key`` for ``cause``: a back-off, or for good a failure."""
        if cause not in THROTTLE_CAUSES:
            self._fail(key, reason, event_type, cause, position=position)
            return
        refusals = self._refusals[key] = self._refusals.get(key, 0) + 1
        if refusals >= MAX_REFUSALS:
            self._fail(key, '%s; SWF kept refusing it (%d times, backing off in between)'
                       % (reason, refusals), event_type, cause, position=position)

    # -- what an event says about the call it refers to (see _outcome) ------------------

    def _completed(self, key, event_type, attributes):
        self._complete(key, attributes)

    def _failed(self, key, event_type, attributes):
        details = optional_text(attributes, 'details')
        self._fail(key, _reason(attributes, 'the %s failed' % _what(event_type)), event_type,
                   details=extra_details(details),
                   type_name=failure_type(details) if event_type == 'ActivityTaskFailed'
                   else None)

    def _timed_out(self, key, event_type, attributes):
        reason = '%s timeout' % (optional_text(attributes, 'timeoutType') or 'unknown')
        self._finished(lambda: self.history.timed_out(key, reason))

    def _canceled(self, key, event_type, attributes):
        # the body sees a flowy.TaskCancelled, as for a cancel it asked for itself
        reason = 'the %s was cancelled' % _what(event_type)
        details = extra_details(optional_text(attributes, 'details'))
        if details:
            reason = '%s: %s' % (reason, details)
        self._finished(lambda: self.history.cancelled(key, reason))

    def _terminated(self, key, event_type, attributes):
        self._fail(key, 'the child workflow was terminated', event_type)

    # -- handlers, one per event type (see _HANDLERS) -----------------------------------

    def _on_started(self, event_id, event_type, attributes):
        start = _start_information(attributes)
        try:
            start['input'] = decode_field(start['input'], self.store, 'the input of the workflow')
        except PayloadMissing as exc:
            raise HistoryError('cannot read %s' % exc) from exc
        for name, value in start.items():
            setattr(self, name, value)
        self.run_tag = run_tag(self.continued_execution_run_id)
        self.started = True

    def _on_cancel_requested(self, event_id, event_type, attributes):
        self.cancel_requested = True

    # activities

    def _on_activity_scheduled(self, event_id, event_type, attributes):
        key = text(attributes, 'activityId')
        if self._schedule(event_id, key, _position(_control(attributes)), self._activities):
            self.started_kinds[key] = ('activity', None)
            self.backlog.scheduled(event_id, attributes)

    def _on_activity_started(self, event_id, event_type, attributes):
        self.backlog.started(optional_number(attributes, 'scheduledEventId'))

    def _on_schedule_activity_failed(self, event_id, event_type, attributes):
        key = text(attributes, 'activityId')
        cause = optional_text(attributes, 'cause')
        reason = 'the activity %s could not be scheduled: %s' % (
            _type_name(attributes, 'activityType'), cause)
        if self.history.get(key) is not None:
            return  # a repeated schedule of an attempt that exists (id already in use)
        self._refused(key, reason, event_type, cause)

    # child workflows

    def _on_child_initiated(self, event_id, event_type, attributes):
        workflow_id = text(attributes, 'workflowId')
        control = _control(attributes)
        key = control.get('key')
        if type(key) is not str or not key:
            key = child_key_of(workflow_id)
        if self._schedule(event_id, key, _position(control), self._children):
            self._child_ids[workflow_id] = key
            self.started_kinds[key] = ('child', workflow_id)

    def _on_start_child_failed(self, event_id, event_type, attributes):
        cause = optional_text(attributes, 'cause')
        reason = 'the child workflow %s could not be started: %s' % (
            _type_name(attributes, 'workflowType'), cause)
        initiated = optional_number(attributes, 'initiatedEventId') or 0
        workflow_id = optional_text(attributes, 'workflowId') or ''
        control = _control(attributes)
        if initiated in self._repeated:
            return
        key = self._children.get(initiated)
        if key is not None:  # WORKFLOW_ALREADY_RUNNING comes after the Initiated event
            self._fail(key, reason, event_type, cause)
            return
        key = control.get('key')
        if type(key) is not str or not key:
            key = self._child_ids.get(workflow_id) or child_key_of(workflow_id)
        if self.history.get(key) is not None:
            return  # a repeated start of an attempt that exists
        self._refused(key, reason, event_type, cause, position=_position(control))

    # timers

    def _on_timer_started(self, event_id, event_type, attributes):
        timer_id = text(attributes, 'timerId')
        if effect_events.is_body_timer(timer_id):
            effect_events.on_timer_started(self, event_id, timer_id, attributes)
        self._pending_timers.add(timer_id)

    def _on_timer_fired(self, event_id, event_type, attributes):
        timer_id = text(attributes, 'timerId')
        if effect_events.is_body_timer(timer_id):
            effect_events.on_timer_fired(self, event_id, timer_id, attributes)
        self._pending_timers.discard(timer_id)
        self._fired_timers.add(timer_id)

    def _on_timer_canceled(self, event_id, event_type, attributes):
        timer_id = text(attributes, 'timerId')
        self._pending_timers.discard(timer_id)
        if effect_events.is_body_timer(timer_id):
            effect_events.on_timer_canceled(self, event_id, timer_id, attributes)
            return
        key, what = timer_of(timer_id)
        if key is not None and self.history.get(key) is None:
            # nothing would start the call any more
            self._fail(key, 'the %s before %s was cancelled' % (what, key), event_type)

    def _on_start_timer_failed(self, event_id, event_type, attributes):
        timer_id = text(attributes, 'timerId')
        cause = optional_text(attributes, 'cause')
        if effect_events.is_body_timer(timer_id):
            effect_events.on_start_timer_failed(self, event_id, timer_id, attributes)
            return
        key, what = timer_of(timer_id)
        if key is None or timer_id in self._pending_timers or timer_id in self._fired_timers:
            return  # not a timer of a call, or a repeated start of one that exists
        if self.history.get(key) is not None:
            return
        self._refused(key, 'the %s before %s could not be started: %s' % (what, key, cause),
                      event_type, cause)

    # markers

    def _on_marker_recorded(self, event_id, event_type, attributes):
        name = optional_text(attributes, 'markerName')
        if effect_events.on_marker(self, event_id, name, optional_text(attributes, 'details')):
            return
        if name != CALL_FAILED_MARKER:
            return
        key, reason, position = _call_failed(event_id, optional_text(attributes, 'details'))
        if self.history.get(key) is not None:
            return  # recorded twice: the first one counts
        self._finished(lambda: self.history.failed(key, reason, None, position))


def _start_information(attributes):
    """What ExecutionHistory keeps of a WorkflowExecutionStarted event, checked first."""
    workflow_type = mapping(attributes, 'workflowType', ('name', 'version'), required=True)
    return {
        'workflow_name': workflow_type['name'],
        'workflow_version': workflow_type['version'],
        'input': optional_text(attributes, 'input'),
        'task_list': mapping(attributes, 'taskList', ('name',)).get('name'),
        'task_priority': optional_text(attributes, 'taskPriority'),
        'task_start_to_close_timeout': optional_text(attributes, 'taskStartToCloseTimeout'),
        'execution_start_to_close_timeout': optional_text(attributes,
                                                          'executionStartToCloseTimeout'),
        'tag_list': text_list(attributes, 'tagList'),
        'child_policy': optional_text(attributes, 'childPolicy'),
        'lambda_role': optional_text(attributes, 'lambdaRole'),
        'continued_execution_run_id': optional_text(attributes, 'continuedExecutionRunId'),
        'parent_workflow_execution': mapping(attributes, 'parentWorkflowExecution') or None,
    }


def _call_failed(event_id, details):
    """``(key, reason, position)`` of a call_failed marker's details."""
    try:
        values = json.loads(details or '')
        key, reason = values['key'], values['reason']
        if type(key) is not str or type(reason) is not str:
            raise TypeError
    except (ValueError, TypeError, KeyError):
        raise HistoryError('the %s marker of event %s does not hold the key and reason of a '
                           'call: %r' % (CALL_FAILED_MARKER, event_id, details)) from None
    return key, reason, _position(values)


def _outcome(find_key, record):
    """A handler for an event about a started call: find its key, record the outcome."""
    def handle(self, event_id, event_type, attributes):
        key = find_key(self, event_id, event_type, attributes)
        # a call cancelled on request: what it does afterwards is ignored
        if key is not None and key not in self.cancelled_keys:
            record(self, key, event_type, attributes)
    return handle


_activity = ExecutionHistory._activity_key
_child = ExecutionHistory._child_key

_HANDLERS = {
    'WorkflowExecutionStarted': ExecutionHistory._on_started,
    'WorkflowExecutionCancelRequested': ExecutionHistory._on_cancel_requested,
    'ActivityTaskScheduled': ExecutionHistory._on_activity_scheduled,
    'ActivityTaskStarted': ExecutionHistory._on_activity_started,
    'ActivityTaskCompleted': _outcome(_activity, ExecutionHistory._completed),
    'ActivityTaskFailed': _outcome(_activity, ExecutionHistory._failed),
    'ActivityTaskTimedOut': _outcome(_activity, ExecutionHistory._timed_out),
    'ActivityTaskCanceled': _outcome(_activity, ExecutionHistory._canceled),
    'ScheduleActivityTaskFailed': ExecutionHistory._on_schedule_activity_failed,
    'StartChildWorkflowExecutionInitiated': ExecutionHistory._on_child_initiated,
    'ChildWorkflowExecutionCompleted': _outcome(_child, ExecutionHistory._completed),
    'ChildWorkflowExecutionFailed': _outcome(_child, ExecutionHistory._failed),
    'ChildWorkflowExecutionTimedOut': _outcome(_child, ExecutionHistory._timed_out),
    'ChildWorkflowExecutionCanceled': _outcome(_child, ExecutionHistory._canceled),
    'ChildWorkflowExecutionTerminated': _outcome(_child, ExecutionHistory._terminated),
    'StartChildWorkflowExecutionFailed': ExecutionHistory._on_start_child_failed,
    'TimerStarted': ExecutionHistory._on_timer_started,
    'TimerFired': ExecutionHistory._on_timer_fired,
    'TimerCanceled': ExecutionHistory._on_timer_canceled,
    'StartTimerFailed': ExecutionHistory._on_start_timer_failed,
    'MarkerRecorded': ExecutionHistory._on_marker_recorded,
    **effect_events.HANDLERS,
}
# event types whose attributes flowy does not read (SWF may send an empty dict, or none)
# (ActivityTaskStarted only counts: see Backlog)
_NO_ATTRIBUTES = frozenset(['WorkflowExecutionCancelRequested', 'ActivityTaskStarted'])
