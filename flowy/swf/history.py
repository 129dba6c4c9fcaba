"""Read an SWF workflow execution's history events into a flowy :class:`History`.

:class:`ExecutionHistory` consumes the ``events`` of ``poll_for_decision_task`` (or
``get_workflow_execution_history``) exactly as boto3 returns them, one page at a time,
and keeps:

* ``history``: the :class:`flowy.history.History` the drivers replay against (what
  happened to each call key, in the order SWF reported it);
* the start information of the run (from ``WorkflowExecutionStarted``), which a
  continue-as-new carries over;
* the retry timers, pending and fired, the calls waiting for them (``waiting``) and the
  calls decided but not sent yet because a response was full (``backlog``), both kept by
  :func:`flowy.swf.decisions.to_swf`, and whether a cancellation was requested.

How flowy's decider names things on SWF (see :mod:`flowy.swf.decisions`):

* an activity attempt is scheduled with ``activityId`` = its call key (``square-3-0``)
  and ``control`` = ``{"position": <index of the call in the body>}``;
* a child workflow attempt gets the ``workflowId`` ``<parent workflowId>.<key>`` in the
  first run of a workflow, and ``<parent workflowId>.<tag>.<key>`` in a run continued
  from another (continue-as-new), where ``<tag>`` is 8 hex characters of a digest of the
  run it continues (``continuedExecutionRunId`` of its start event, so every run has
  its own): a continued run has the same workflowId and its call keys start at 0 again,
  and its children must neither collide with the children of the runs before it (SWF
  refuses a workflowId that is open, WORKFLOW_ALREADY_RUNNING, say a child left
  running with the ABANDON child policy) nor be mistaken for them.  ``control`` =
  ``{"key": ..., "position": ...}``; without it, the key is what follows the last dot;
* the delay before a retry is a timer named ``<key of the attempt to start>.retry``;
* the back-off before starting a call again that SWF refused for a rate or limit
  (below) is a timer named ``<key>.backoff.<n>``, ``n`` counting the refusals;
* a call that failed before it could start (its input could not be serialized, or is
  too large for SWF) is a ``flowy.call_failed`` marker with the details
  ``{"key": ..., "position": ..., "reason": ...}``.

SWF forbids ``:`` (and ``/``, ``|``) in activity, timer and workflow ids, hence the dots.

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
(:func:`backoff_delay` seconds: 1, 2, 4 ... up to :data:`BACKOFF_CAP`, plus a jitter
drawn from the key, so every replay computes the same) before
:func:`flowy.swf.decisions.to_swf` starts it again, with the same key.  The refused
start may be the task's own, its retry timer's or its back-off timer's; what starts
after the back-off is whatever the call still needs (its retry timer if that has not
fired, else the task).  All of it is read from the events alone, so a decider that
reads a history afresh decides what one that kept it does.  A call refused
:data:`MAX_REFUSALS` times fails, with a reason that says SWF kept refusing it.

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

import hashlib
import json

from ..history import History
from .failures import extra_details, full_reason
from .payload import PayloadMissing, decode_field, is_reference

__all__ = ['ExecutionHistory', 'HistoryError', 'SWFFailure', 'CALL_FAILED_MARKER',
           'MAX_ID_LENGTH', 'THROTTLE_CAUSES', 'MAX_REFUSALS', 'BACKOFF_CAP',
           'retry_timer_id', 'retry_timer_key', 'backoff_timer_id', 'backoff_timer_key',
           'backoff_delay', 'run_tag', 'child_workflow_id', 'child_key_of', 'attributes_key']

CALL_FAILED_MARKER = 'flowy.call_failed'
RETRY_TIMER_SUFFIX = '.retry'
BACKOFF_TIMER_INFIX = '.backoff.'
MAX_ID_LENGTH = 256  # activityId, timerId, workflowId and markerName
# SWF's causes of a refused start that pass: a rate, or a limit of open tasks
THROTTLE_CAUSES = frozenset([
    'ACTIVITY_CREATION_RATE_EXCEEDED', 'OPEN_ACTIVITIES_LIMIT_EXCEEDED',
    'CHILD_CREATION_RATE_EXCEEDED', 'OPEN_CHILDREN_LIMIT_EXCEEDED',
    'OPEN_WORKFLOWS_LIMIT_EXCEEDED',
    'TIMER_CREATION_RATE_EXCEEDED', 'OPEN_TIMERS_LIMIT_EXCEEDED'])
MAX_REFUSALS = 10  # throttled refusals of one call key before the call fails
BACKOFF_CAP = 300  # seconds: the longest back-off before the jitter
RUN_TAG_LENGTH = 8


class HistoryError(ValueError):
    """The events do not make a consistent history (a page missing, or out of order)."""


class SWFFailure(Exception):
    """What SWF reported about a task that failed, was cancelled or could not start.

    It is the ``__cause__`` of the :class:`flowy.TaskError` the workflow sees:
    ``event_type`` names the event, ``cause`` is SWF's cause code when there is one
    (``ACTIVITY_TYPE_DOES_NOT_EXIST``), ``details`` the details the task reported.
    """

    def __init__(self, reason, event_type, cause=None, details=None):
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type
        self.cause = cause
        self.details = details

    def __reduce__(self):
        return type(self), (self.reason, self.event_type, self.cause, self.details)


def retry_timer_id(key):
    """The id of the timer that waits before attempt ``key`` starts."""
    return key + RETRY_TIMER_SUFFIX


def retry_timer_key(timer_id):
    """The call key a retry timer starts, or None if ``timer_id`` names another timer."""
    if timer_id.endswith(RETRY_TIMER_SUFFIX):
        return timer_id[:-len(RETRY_TIMER_SUFFIX)]
    return None


def backoff_timer_id(key, refusals):
    """The id of the back-off timer after the ``refusals``-th throttled start of ``key``."""
    return '%s%s%d' % (key, BACKOFF_TIMER_INFIX, refusals)


def backoff_timer_key(timer_id):
    """``(key, n)`` of a back-off timer id, or None if ``timer_id`` names another timer."""
    head, _, number = timer_id.rpartition('.')
    if not number.isdigit() or not head.endswith(BACKOFF_TIMER_INFIX[:-1]):
        return None
    key = head[:-len(BACKOFF_TIMER_INFIX) + 1]
    return (key, int(number)) if key else None


def _digest(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def backoff_delay(key, refusals):
    """Seconds to wait after the ``refusals``-th throttled start of ``key``.

    ``2 ** (refusals - 1)`` (1, 2, 4 ...) up to :data:`BACKOFF_CAP`, plus a jitter of up
    to half of that drawn from a digest of the key and the count: calls refused together
    do not all come back at once, and every decider computes the same delay.
    """
    base = min(2 ** min(max(refusals, 1) - 1, 16), BACKOFF_CAP)
    jitter = int(_digest('%s.%d' % (key, refusals))[:8], 16) % (max(1, base // 2) + 1)
    return base + jitter


def run_tag(continued_execution_run_id):
    """The tag in the child workflow ids of a continued run (None for a first run)."""
    if not continued_execution_run_id:
        return None
    return _digest(continued_execution_run_id)[:RUN_TAG_LENGTH]


def child_workflow_id(parent_workflow_id, key, tag=None):
    """The deterministic ``workflowId`` of child workflow attempt ``key``.

    ``<parent workflowId>.<key>``, or ``<parent workflowId>.<tag>.<key>`` in a continued
    run (``tag``: :func:`run_tag` of the run it continues); when that would pass SWF's
    256 characters, the parent's id is replaced by a digest of it (still the same on
    every replay).
    """
    suffix = key if tag is None else '%s.%s' % (tag, key)
    workflow_id = '%s.%s' % (parent_workflow_id, suffix)
    if len(workflow_id) > MAX_ID_LENGTH:
        workflow_id = '%s.%s' % (_digest(parent_workflow_id)[:40], suffix)
    return workflow_id


def child_key_of(workflow_id):
    """The call key in a child ``workflowId`` flowy made (any form): after the last dot."""
    return workflow_id.rpartition('.')[2]


_ATTRIBUTE_KEYS = {}


def attributes_key(event_type):
    """``activityTaskScheduledEventAttributes`` for ``ActivityTaskScheduled``."""
    name = _ATTRIBUTE_KEYS.get(event_type)
    if name is None:
        name = _ATTRIBUTE_KEYS[event_type] = (
            event_type[:1].lower() + event_type[1:] + 'EventAttributes')
    return name


def _control(attributes):
    """The JSON object in ``control``, or an empty dict if it is missing or not ours."""
    control = attributes.get('control')
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
    return full_reason(attributes.get('reason'), attributes.get('details'), default)


def _type_name(attributes, field):
    kind = attributes.get(field) or {}
    return '%s (version %s)' % (kind.get('name', '?'), kind.get('version', '?'))


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
    ``parent_workflow_execution``, and ``run_tag`` (:func:`run_tag`: None in a first
    run), which goes into the ids of this run's child workflows.
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
        self._children = {}  # eventId of StartChildWorkflowExecutionInitiated -> key
        self._child_ids = {}  # child workflowId -> key
        self._repeated = set()  # eventIds of schedules of a key the history already had
        self._pending_timers = set()
        self._fired_timers = set()
        self._refusals = {}  # call key -> its throttled refusals so far
        # Calls that wait for a timer (their retry timer, or their back-off timer after
        # SWF refused to start them for a rate or a limit), by key: kept by
        # flowy.swf.decisions so that they start when it fires even if the driver does
        # not repeat them (the cached driver decides each call once).
        self.waiting = {}
        # Calls whose start (ScheduleActivityTask, StartChildWorkflowExecution) was sent
        # and is not in the history yet, by key: (call, its refusals when sent).  Kept by
        # flowy.swf.decisions until the history shows them started (ActivityTaskScheduled,
        # ...Initiated) or refused for good; a throttled refusal (one more than when
        # sent) moves them to ``waiting`` (the replay driver decides them again, the
        # cached driver does not).
        self.sent = {}
        # Calls decided but not sent because the response was full (its limit of calls,
        # or SWF's 1 MB request limit), in call order: key -> (position, key, call, SWF
        # decision, its size in bytes).  Kept by flowy.swf.decisions, which sends them
        # in call order with the next calls and drops them once they are in the history.
        self.backlog = {}
        # How many calls the driver decides at most per decision (its ``limit``), as
        # flowy.swf.decisions learns it from a decision that stopped at it; None until then.
        self.call_limit = None

    def __repr__(self):
        return '<ExecutionHistory %s events=%d last=%d>' % (
            self.workflow_id, self.event_count, self.last_event_id)

    # -- feeding ----------------------------------------------------------------------

    def feed(self, events):
        """Consume ``events`` (one page, in order); return how many were new.

        Raises :class:`HistoryError` for events that do not fit the history, and
        :class:`~flowy.swf.payload.PayloadError` when a payload reference could not be
        read for now; the events before the one that raised are consumed, the others
        are not (feed the page again to go on).
        """
        handlers = _HANDLERS
        new = 0
        for event in events:
            event_id = event['eventId']
            if event_id <= self.last_event_id:
                continue
            event_type = event['eventType']
            handler = handlers.get(event_type)
            if handler is not None:
                attributes = event.get(attributes_key(event_type)) or {}
                handler(self, event_id, event_type, attributes)
            self.last_event_id = event_id
            self.event_count += 1
            new += 1
        return new

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

    def _key(self, index, event_id, event_type, attributes, field):
        referred = attributes.get(field)
        key = index.get(referred)
        if key is None and referred not in self._repeated:
            raise HistoryError(
                '%s (event %s) refers to event %s, which this history has not seen; feed '
                'every page of the history, in order' % (event_type, event_id, referred))
        return key

    def _activity_key(self, event_id, event_type, attributes):
        return self._key(self._activities, event_id, event_type, attributes,
                         'scheduledEventId')

    def _child_key(self, event_id, event_type, attributes):
        referred = attributes.get('initiatedEventId')
        if referred is None:  # not in SWF's events, but cheap to allow: by workflowId
            workflow_id = (attributes.get('workflowExecution') or {}).get('workflowId')
            key = self._child_ids.get(workflow_id)
            if key is None:
                raise HistoryError('%s (event %s) is about the child workflow %s, which '
                                   'this history has not seen'
                                   % (event_type, event_id, workflow_id))
            return key
        return self._key(self._children, event_id, event_type, attributes,
                         'initiatedEventId')

    def _complete(self, key, attributes):
        result = attributes.get('result')
        if is_reference(result):
            try:
                result = decode_field(result, self.store, 'the result of %s' % key)
            except PayloadMissing as exc:
                error, reason = exc, 'cannot read %s' % exc
                self._finished(lambda: self.history.failed(key, reason, error))
                return
        self._finished(lambda: self.history.completed(key, 'null' if result is None else result))

    def _fail(self, key, reason, event_type, cause=None, details=None, position=None):
        failure = SWFFailure(reason, event_type, cause, details)
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

    def _time_out(self, key, attributes):
        reason = '%s timeout' % attributes.get('timeoutType', 'unknown')
        self._finished(lambda: self.history.timed_out(key, reason))

    # -- what an event says about the call it refers to (see _outcome) ------------------

    def _completed(self, key, event_type, attributes):
        self._complete(key, attributes)

    def _failed(self, key, event_type, attributes):
        what = 'activity' if event_type.startswith('Activity') else 'child workflow'
        self._fail(key, _reason(attributes, 'the %s failed' % what), event_type,
                   details=extra_details(attributes.get('details')))

    def _timed_out(self, key, event_type, attributes):
        self._time_out(key, attributes)

    def _canceled(self, key, event_type, attributes):
        what = 'activity' if event_type.startswith('Activity') else 'child workflow'
        self._fail(key, 'the %s was cancelled' % what, event_type,
                   details=extra_details(attributes.get('details')))

    def _terminated(self, key, event_type, attributes):
        self._fail(key, 'the child workflow was terminated', event_type)

    # -- handlers, one per event type (see _HANDLERS) -----------------------------------

    def _on_started(self, event_id, event_type, attributes):
        try:
            data = decode_field(attributes.get('input'), self.store, 'the input of the workflow')
        except PayloadMissing as exc:
            raise HistoryError('cannot read %s' % exc) from exc
        workflow_type = attributes.get('workflowType') or {}
        self.workflow_name = workflow_type.get('name')
        self.workflow_version = workflow_type.get('version')
        self.input = data
        self.task_list = (attributes.get('taskList') or {}).get('name')
        self.task_priority = attributes.get('taskPriority')
        self.task_start_to_close_timeout = attributes.get('taskStartToCloseTimeout')
        self.execution_start_to_close_timeout = attributes.get('executionStartToCloseTimeout')
        self.tag_list = list(attributes.get('tagList') or ())
        self.child_policy = attributes.get('childPolicy')
        self.lambda_role = attributes.get('lambdaRole')
        self.continued_execution_run_id = attributes.get('continuedExecutionRunId')
        self.parent_workflow_execution = attributes.get('parentWorkflowExecution')
        self.run_tag = run_tag(self.continued_execution_run_id)
        self.started = True

    def _on_cancel_requested(self, event_id, event_type, attributes):
        self.cancel_requested = True

    # activities

    def _on_activity_scheduled(self, event_id, event_type, attributes):
        key = attributes['activityId']
        self._schedule(event_id, key, _position(_control(attributes)), self._activities)

    def _on_schedule_activity_failed(self, event_id, event_type, attributes):
        key = attributes['activityId']
        if self.history.get(key) is not None:
            return  # a repeated schedule of an attempt that exists (id already in use)
        cause = attributes.get('cause')
        reason = 'the activity %s could not be scheduled: %s' % (
            _type_name(attributes, 'activityType'), cause)
        self._refused(key, reason, event_type, cause)

    # child workflows

    def _on_child_initiated(self, event_id, event_type, attributes):
        control = _control(attributes)
        workflow_id = attributes['workflowId']
        key = control.get('key')
        if type(key) is not str or not key:
            key = child_key_of(workflow_id)
        if self._schedule(event_id, key, _position(control), self._children):
            self._child_ids[workflow_id] = key

    def _on_start_child_failed(self, event_id, event_type, attributes):
        cause = attributes.get('cause')
        reason = 'the child workflow %s could not be started: %s' % (
            _type_name(attributes, 'workflowType'), cause)
        initiated = attributes.get('initiatedEventId') or 0
        if initiated in self._repeated:
            return
        key = self._children.get(initiated)
        if key is not None:  # WORKFLOW_ALREADY_RUNNING comes after the Initiated event
            self._fail(key, reason, event_type, cause)
            return
        control = _control(attributes)
        workflow_id = attributes.get('workflowId') or ''
        key = control.get('key')
        if type(key) is not str or not key:
            key = self._child_ids.get(workflow_id) or child_key_of(workflow_id)
        if self.history.get(key) is not None:
            return  # a repeated start of an attempt that exists
        self._refused(key, reason, event_type, cause, position=_position(control))

    # timers

    def _on_timer_started(self, event_id, event_type, attributes):
        self._pending_timers.add(attributes['timerId'])

    def _on_timer_fired(self, event_id, event_type, attributes):
        timer_id = attributes['timerId']
        self._pending_timers.discard(timer_id)
        self._fired_timers.add(timer_id)

    def _on_timer_canceled(self, event_id, event_type, attributes):
        timer_id = attributes['timerId']
        self._pending_timers.discard(timer_id)
        key, what = _timer_of(timer_id)
        if key is not None and self.history.get(key) is None:
            # nothing would start the call any more
            self._fail(key, 'the %s before %s was cancelled' % (what, key), event_type)

    def _on_start_timer_failed(self, event_id, event_type, attributes):
        timer_id = attributes['timerId']
        key, what = _timer_of(timer_id)
        if key is None or timer_id in self._pending_timers or timer_id in self._fired_timers:
            return  # not a timer of a call, or a repeated start of one that exists
        if self.history.get(key) is not None:
            return
        cause = attributes.get('cause')
        self._refused(key, 'the %s before %s could not be started: %s' % (what, key, cause),
                      event_type, cause)

    # markers

    def _on_marker_recorded(self, event_id, event_type, attributes):
        if attributes.get('markerName') != CALL_FAILED_MARKER:
            return
        try:
            details = json.loads(attributes.get('details') or '')
            key, reason = details['key'], details['reason']
            if type(key) is not str or type(reason) is not str:
                raise TypeError
        except (ValueError, TypeError, KeyError):
            raise HistoryError('the %s marker of event %s does not hold the key and reason '
                               'of a call: %r' % (CALL_FAILED_MARKER, event_id,
                                                  attributes.get('details'))) from None
        if self.history.get(key) is not None:
            return  # recorded twice: the first one counts
        position = _position(details)
        self._finished(lambda: self.history.failed(key, reason, None, position))


def _timer_of(timer_id):
    """``(call key, what the timer is)`` of a retry or back-off timer, else (None, None)."""
    key = retry_timer_key(timer_id)
    if key is not None:
        return key, 'retry timer'
    backoff = backoff_timer_key(timer_id)
    if backoff is not None:
        return backoff[0], 'back-off timer'
    return None, None


def _outcome(find_key, record):
    """A handler for an event about a started call: find its key, record the outcome."""
    def handle(self, event_id, event_type, attributes):
        key = find_key(self, event_id, event_type, attributes)
        if key is not None:
            record(self, key, event_type, attributes)
    return handle


_activity = ExecutionHistory._activity_key
_child = ExecutionHistory._child_key

_HANDLERS = {
    'WorkflowExecutionStarted': ExecutionHistory._on_started,
    'WorkflowExecutionCancelRequested': ExecutionHistory._on_cancel_requested,
    'ActivityTaskScheduled': ExecutionHistory._on_activity_scheduled,
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
}
