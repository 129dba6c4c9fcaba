"""Translate a flowy :class:`~flowy.decision.Decision` into SWF decisions.

:func:`to_swf` returns the ``decisions`` argument of one
``respond_decision_task_completed`` call, given how each dependency is reached on SWF
(:class:`TaskType`) and the run's :class:`~flowy.swf.history.ExecutionHistory`:

* a call to start now becomes ``ScheduleActivityTask`` (``activityId`` = the call key)
  or ``StartChildWorkflowExecution`` (``workflowId`` = ``<parent workflowId>.<key>``,
  or ``<parent workflowId>.<tag>.<key>`` in a run continued from another, ``<tag>``
  being 8 hex characters that differ from run to run: the same on every replay, never
  the id of a child of an earlier run; see :mod:`flowy.swf.history`); ``control``
  carries the call's position in the body (and, for a child, its key), which
  :class:`~flowy.swf.history.ExecutionHistory` reads back.  Until the history shows the
  start, the call is kept in ``execution.sent``;
* a call with a retry delay whose timer has not fired becomes ``StartTimer``
  (``<key>.retry``), or nothing while that timer is pending.  The call is kept in
  ``execution.waiting`` and scheduled when the timer fires, whether or not the driver
  decides it again (the replay driver does; the cached driver decides a call once);
* a call whose start SWF refused for a rate or a limit (the ``n``-th time, counted from
  the events; :data:`~flowy.swf.history.THROTTLE_CAUSES`) waits the same way, for its
  back-off timer ``<key>.backoff.<n>`` (1, 2, 4 ... seconds up to 5 minutes, plus a
  jitter drawn from the key), then starts again with the same key (or starts its retry
  timer, if that was the start refused).  The cached driver does not decide the call
  again, so a throttled refusal moves it from ``execution.sent`` to
  ``execution.waiting``; the replay driver decides it again, as any call missing from
  the history.  After :data:`~flowy.swf.history.MAX_REFUSALS` such refusals the call
  fails (the history records it); a refusal for good (a type missing or deprecated, a
  default undefined, OPERATION_NOT_PERMITTED) fails it at once;
* a call that failed before it could start becomes a ``flowy.call_failed`` marker;
* the outcome becomes ``CompleteWorkflowExecution``, ``FailWorkflowExecution`` or
  ``ContinueAsNewWorkflowExecution`` (with the run's task list, timeouts, tags and child
  policy carried over).

SWF's limits are checked here rather than left to SWF, which would reject the whole
response (and the decision task would time out over and over):

* inputs, results, details and control are at most :data:`MAX_DATA` (32,768)
  characters.  Given a payload ``store`` (:mod:`flowy.swf.payload`), a call input,
  workflow result or restart input that is larger (or larger than the store's
  ``threshold``) is stored and its reference sent instead.  Without a store, a call whose
  input is larger fails (a ``flowy.call_failed`` marker naming the size), and a workflow
  result or restart input that is larger fails the workflow.  A store that cannot store
  (S3 unreachable) raises :class:`~flowy.swf.payload.PayloadError`: send nothing then,
  the decision task is tried again;
* a failure reason is cut to :data:`MAX_REASON` (256) characters, with the whole reason
  (cut to 32,768) in ``details``;
* ids are at most 256 characters; a call whose id would be longer fails;
* a response holds at most :data:`MAX_DECISIONS` (100) decisions.  Give the driver
  ``limit=CALL_LIMIT`` (99) or less: each call becomes at most one SWF decision, and the
  last slot is for the timer that wakes the decider up again when the driver has more
  calls than fit (``Decision.more``): SWF only schedules a decision task when something
  happens, and a ``StartTimer`` of 0 seconds is that something.  A decision with an
  outcome has no calls, so a final decision always fits.  :func:`to_swf` raises
  :class:`TooManyDecisions` if the driver decided more calls than ``limit`` allows;
* SWF rejects a request over 1 MB, headers included.  The decisions of a response are
  kept within :data:`MAX_RESPONSE_BYTES` (900,000) bytes of JSON as botocore encodes it
  (ASCII, so never fewer bytes than the UTF-8 on the wire), which leaves room for the
  task token, an execution context and the headers: 99 inputs of 32,768 characters
  would be about 3.3 MB.

**Both drivers, the same responses.**  The replay driver decides, up to its ``limit``,
every call not in the history yet, in call order: the new ones, the ones decided before
but not sent (below), the ones waiting for a retry or back-off timer (one whose timer is
pending takes its place in the limit, with no SWF decision) and the ones SWF refused for
a rate or a limit.  The cached driver decides each call once.  So :func:`to_swf` sends,
in call order (``position``), the first ``call_limit`` of all those calls together: the
backlog of earlier responses, the calls of this decision and the calls of
``execution.waiting`` (with the throttled calls of ``execution.sent`` moved there; a call
the replay driver decided again is one of them, sent once).  ``call_limit`` is the
``limit`` the driver was given: pass it; by default, the number of calls of the last
decision that stopped at the limit (``Decision.more``; both drivers then decide exactly
``limit`` calls), kept in ``execution.call_limit``, else ``limit - 1``.  Given the
driver's limit, a cached decider sends what a replaying one does, response for
response.  Without it, before a decision stopped at its limit, a cached decider may send
more calls in a response than a lower limit allows (never more than fit): the responses
then differ, each call still going out once and in call order.  As the cached driver does
not count the calls held back (waiting for a timer, or in the backlog) against its limit,
its body can reach its end while more of them are missing from the history than the limit
allows; a replay would stop at its limit before the end.  The outcome then waits: the
response sends the calls, as the replay's does, and the run closes once a decision
finds no more of them than the limit.

Calls that do not fit (beyond ``call_limit``, ``limit`` decisions with the wake-up timer,
or the byte budget) wait for the next response, which the wake-up timer brings: every call
after the first that does not fit waits too, so no call starts before an earlier one
(except one held back by its retry or back-off timer).  Calls with a retry or back-off
timer wait in ``execution.waiting`` (their decision depends on the timer), the others in
``execution.backlog``; a call leaves either once the history has it.  A response with
nothing to send but calls whose retry or back-off timer is pending has no wake-up timer:
the next decision would be the same until such a timer fires, and its firing wakes the
decider up (never a busy loop).  The backlog, the waiting and sent calls and
``call_limit`` live on the :class:`~flowy.swf.history.ExecutionHistory`, like the live
body of the cached driver (keyed by that history): a decider that starts from a fresh
one loses all of them, and nothing with them, since a driver given a fresh history
replays it and decides every call missing from it again, and the refusals and timers
that decide when a throttled call starts again are read from the events.
"""

import json
import math

from ..config import ACTIVITY, WORKFLOW
from ..decision import Decision, Fail, FailCall, Finish, Restart
from .failures import failure_fields
from .history import (
    CALL_FAILED_MARKER,
    MAX_ID_LENGTH,
    backoff_delay,
    backoff_timer_id,
    child_workflow_id,
    retry_timer_id,
)
from .payload import MAX_DATA, MAX_REASON, PayloadError, PayloadTooLarge, encode_field

__all__ = ['MAX_DECISIONS', 'CALL_LIMIT', 'MAX_DATA', 'MAX_REASON', 'MAX_RESPONSE_BYTES',
           'WAKE_UP_TIMER_PREFIX', 'TaskType', 'TooManyDecisions', 'to_swf']

MAX_DECISIONS = 100
CALL_LIMIT = MAX_DECISIONS - 1
MAX_RESPONSE_BYTES = 900000  # JSON of a response's decisions; SWF takes 1 MB in all
WAKE_UP_TIMER_PREFIX = 'flowy.more.'
CHILD_POLICIES = ('TERMINATE', 'REQUEST_CANCEL', 'ABANDON')
MAX_DURATION = 99999999  # SWF durations are strings of at most 8 digits
MAX_WORKFLOW_DURATION = 365 * 24 * 3600  # an execution may not run longer than a year
_MAX_VERSION = 64
_FORBIDDEN = frozenset(':/|') | frozenset(map(chr, range(0x20))) | frozenset(
    map(chr, range(0x7f, 0xa0)))
_COMPACT = (',', ':')


class TooManyDecisions(ValueError):
    """A decision would need more SWF decisions than one response may hold."""


# -- TaskType --------------------------------------------------------------------------


def _swf_name(field, value, limit):
    if type(value) is int and field == 'version':
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ValueError('%s must be a non-empty string; got %r' % (field, value))
    if len(value) > limit:
        raise ValueError('%s must be at most %d characters; got %d' % (field, limit, len(value)))
    if value == 'arn' or any(char in _FORBIDDEN for char in value):
        raise ValueError('%s %r is not a valid SWF name: it may not contain ":", "/", "|" or '
                         'control characters, nor be "arn"' % (field, value))
    return value


def _duration(field, value, allow_none=True, maximum=MAX_DURATION):
    """A duration in seconds as SWF wants it: a string of digits, or ``NONE``."""
    if value is None:
        return None
    if isinstance(value, str) and value.upper() == 'NONE':
        if not allow_none:
            raise ValueError('%s cannot be NONE on SWF; give a number of seconds up to %d'
                             % (field, maximum))
        return 'NONE'
    if type(value) is not int or not 0 < value <= maximum:
        raise ValueError('%s must be a whole number of seconds from 1 to %d%s; got %r'
                         % (field, maximum, ", or 'NONE'" if allow_none else '', value))
    return str(value)


def _child_policy(value):
    if value is None:
        return None
    if isinstance(value, str) and value.upper() in CHILD_POLICIES:
        return value.upper()
    raise ValueError('child_policy must be one of %s; got %r' % (', '.join(CHILD_POLICIES),
                                                                  value))


class TaskType:
    """How one dependency of a workflow is reached on SWF: the registered type to start.

    ``kind`` is ``'activity'`` or ``'workflow'`` (a child workflow).  Every other option
    may be left out (None): SWF then applies the defaults registered with the type.
    Durations are whole seconds or ``'NONE'`` (no limit).

    Activities: ``heartbeat``, ``schedule_to_close``, ``schedule_to_start``,
    ``start_to_close``.  Child workflows: ``workflow_duration`` (the execution's
    start-to-close timeout; NONE is not allowed there), ``decision_duration`` (the
    decision tasks' start-to-close timeout) and ``child_policy`` (TERMINATE,
    REQUEST_CANCEL or ABANDON).  Both: ``task_list``.
    """

    __slots__ = ('kind', 'name', 'version', 'task_list', 'heartbeat', 'schedule_to_close',
                 'schedule_to_start', 'start_to_close', 'workflow_duration',
                 'decision_duration', 'child_policy', '_options')

    _ACTIVITY_ONLY = ('heartbeat', 'schedule_to_close', 'schedule_to_start', 'start_to_close')
    _WORKFLOW_ONLY = ('workflow_duration', 'decision_duration', 'child_policy')

    def __init__(self, kind, name, version, task_list=None, heartbeat=None,
                 schedule_to_close=None, schedule_to_start=None, start_to_close=None,
                 workflow_duration=None, decision_duration=None, child_policy=None):
        if kind not in (ACTIVITY, WORKFLOW):
            raise ValueError("kind must be 'activity' or 'workflow'; got %r" % (kind,))
        self.kind = kind
        self.name = _swf_name('name', name, MAX_ID_LENGTH)
        self.version = _swf_name('version', version, _MAX_VERSION)
        self.task_list = None if task_list is None else _swf_name('task_list', task_list,
                                                                  MAX_ID_LENGTH)
        self.heartbeat = _duration('heartbeat', heartbeat)
        self.schedule_to_close = _duration('schedule_to_close', schedule_to_close)
        self.schedule_to_start = _duration('schedule_to_start', schedule_to_start)
        self.start_to_close = _duration('start_to_close', start_to_close)
        self.workflow_duration = _duration('workflow_duration', workflow_duration,
                                           allow_none=False, maximum=MAX_WORKFLOW_DURATION)
        self.decision_duration = _duration('decision_duration', decision_duration)
        self.child_policy = _child_policy(child_policy)
        other = self._WORKFLOW_ONLY if kind == ACTIVITY else self._ACTIVITY_ONLY
        for field in other:
            if getattr(self, field) is not None:
                raise ValueError('%s does not apply to %s %s; it is an option of %s'
                                 % (field, 'an activity' if kind == ACTIVITY else 'a workflow',
                                    self.name, 'workflows' if kind == ACTIVITY
                                    else 'activities'))
        if kind == ACTIVITY:
            options = (('heartbeatTimeout', self.heartbeat),
                       ('scheduleToCloseTimeout', self.schedule_to_close),
                       ('scheduleToStartTimeout', self.schedule_to_start),
                       ('startToCloseTimeout', self.start_to_close))
        else:
            options = (('executionStartToCloseTimeout', self.workflow_duration),
                       ('taskStartToCloseTimeout', self.decision_duration),
                       ('childPolicy', self.child_policy))
        self._options = tuple((name, value) for name, value in options if value is not None)

    def __repr__(self):
        shown = ''.join(' %s=%s' % (field, getattr(self, field)) for field in (
            ('task_list',) + self._ACTIVITY_ONLY + self._WORKFLOW_ONLY)
            if getattr(self, field) is not None)
        return '<TaskType %s %s %s%s>' % (self.kind, self.name, self.version, shown)

    def _attributes(self):
        """The optional attributes of a start decision: only what was set."""
        attributes = dict(self._options)
        if self.task_list is not None:
            attributes['taskList'] = {'name': self.task_list}
        return attributes


# -- decisions ---------------------------------------------------------------------------


def _control(**values):
    return json.dumps(values, separators=_COMPACT)


def _too_large(what, size, limit=MAX_DATA):
    return '%s is %d characters; SWF allows %d' % (what, size, limit)


def _marker_details(key, position, reason):
    return json.dumps({'key': key, 'position': position, 'reason': reason},
                      separators=_COMPACT, ensure_ascii=False)


def _call_failed(key, position, reason):
    """A ``flowy.call_failed`` marker; a reason too long for the details is cut."""
    details = _marker_details(key, position, reason)
    kept = len(reason)
    while len(details) > MAX_DATA:
        # escaping makes the text longer than the reason: keep a share that fits
        kept = max(0, min(kept - 1, kept * (MAX_DATA - 64) // len(details)))
        details = _marker_details(key, position, reason[:kept] + ' [cut]')
    return {'decisionType': 'RecordMarker',
            'recordMarkerDecisionAttributes': {'markerName': CALL_FAILED_MARKER,
                                               'details': details}}


def _start_timer(timer_id, delay):
    seconds = min(max(math.ceil(delay), 0), MAX_DURATION)
    return {'decisionType': 'StartTimer',
            'startTimerDecisionAttributes': {'timerId': timer_id,
                                             'startToFireTimeout': str(seconds)}}


def _fail_workflow(reason, more=None):
    """``FailWorkflowExecution``: the reason cut to fit, whole in the details beside ``more``."""
    reason, details = failure_fields(reason, more)
    attributes = {'reason': reason}
    if details is not None:
        attributes['details'] = details
    return {'decisionType': 'FailWorkflowExecution',
            'failWorkflowExecutionDecisionAttributes': attributes}


def _schedule_activity(call, task_type, data):
    attributes = task_type._attributes()
    attributes['activityType'] = {'name': task_type.name, 'version': task_type.version}
    attributes['activityId'] = call.key
    attributes['control'] = _control(position=call.position)
    if data is not None:
        attributes['input'] = data
    return {'decisionType': 'ScheduleActivityTask',
            'scheduleActivityTaskDecisionAttributes': attributes}


def _start_child(call, task_type, workflow_id, data):
    attributes = task_type._attributes()
    attributes['workflowType'] = {'name': task_type.name, 'version': task_type.version}
    attributes['workflowId'] = workflow_id
    attributes['control'] = _control(key=call.key, position=call.position)
    if data is not None:
        attributes['input'] = data
    return {'decisionType': 'StartChildWorkflowExecution',
            'startChildWorkflowExecutionDecisionAttributes': attributes}


def _refusal(error, what):
    """Why a value cannot be sent without a store (the short message of a size)."""
    if type(error) is PayloadTooLarge:
        return _too_large(what, error.size, error.limit)
    return str(error)


def _translate_call(call, task_types, execution, store=None):
    """The SWF decision for one call, or None (its retry or back-off timer is pending)."""
    key = call.key
    if type(call) is FailCall:
        return _call_failed(key, call.position, call.reason)
    task_type = task_types.get(call.dep)
    if task_type is None:
        raise ValueError('no SWF task type is configured for the dependency %r (call %s); '
                         'give a TaskType for every dependency' % (call.dep, key))
    data = call.input
    if data is not None and store is None:
        try:
            encode_field(data, 'input of %s' % key)
        except PayloadError as exc:  # without a store, the input can never be sent
            return _call_failed(key, call.position, _refusal(exc, 'input of %s' % key))
    refusals = execution.refusals(key)
    if refusals and not execution.backoff_fired(key):
        timer_id = backoff_timer_id(key, refusals)
        if len(timer_id) > MAX_ID_LENGTH:
            return _call_failed(key, call.position, _too_large(
                'the back-off timer id of %s' % key, len(timer_id), MAX_ID_LENGTH))
        if execution.backoff_pending(key):
            return None
        return _start_timer(timer_id, backoff_delay(key, refusals))
    if call.delay > 0 and not execution.timer_fired(key):
        timer_id = retry_timer_id(key)
        if len(timer_id) > MAX_ID_LENGTH:
            return _call_failed(key, call.position, _too_large(
                'the retry timer id of %s' % key, len(timer_id), MAX_ID_LENGTH))
        if execution.timer_pending(key):
            return None
        return _start_timer(timer_id, call.delay)
    if task_type.kind == ACTIVITY:
        if len(key) > MAX_ID_LENGTH:
            return _call_failed(key, call.position, _too_large(
                'the activity id %s' % key, len(key), MAX_ID_LENGTH))
        return _schedule_activity(call, task_type, _encode_input(data, key, store))
    if execution.workflow_id is None:
        raise ValueError('the workflowId of this run is needed to name the child workflow '
                         '%s: give ExecutionHistory(workflow_id=...)' % key)
    workflow_id = child_workflow_id(execution.workflow_id, key, execution.run_tag)
    if len(workflow_id) > MAX_ID_LENGTH:
        return _call_failed(key, call.position, _too_large(
            'the child workflow id of %s' % key, len(workflow_id), MAX_ID_LENGTH))
    return _start_child(call, task_type, workflow_id, _encode_input(data, key, store))


def _encode_input(data, key, store):
    """The input to send: checked already without a store, stored if need be with one."""
    if store is None:
        return data
    return encode_field(data, 'the input of %s' % key, store)


def _close(outcome, execution, store=None):
    kind = type(outcome)
    if kind is Finish:
        try:
            result = encode_field(outcome.result, 'the result of the workflow', store)
        except PayloadError as exc:
            if store is not None:
                raise
            return _fail_workflow(_refusal(exc, 'the result of the workflow'))
        attributes = {} if result is None else {'result': result}
        return {'decisionType': 'CompleteWorkflowExecution',
                'completeWorkflowExecutionDecisionAttributes': attributes}
    if kind is Fail:
        return _fail_workflow(outcome.reason)
    if kind is Restart:
        try:
            data = encode_field(outcome.input, 'the restart input of the workflow', store)
        except PayloadError as exc:
            if store is not None:
                raise
            return _fail_workflow(_refusal(exc, 'the restart input of the workflow'))
        attributes = {
            'input': data,
            'taskList': None if execution.task_list is None else {'name': execution.task_list},
            'taskPriority': execution.task_priority,
            'taskStartToCloseTimeout': execution.task_start_to_close_timeout,
            'executionStartToCloseTimeout': execution.execution_start_to_close_timeout,
            'childPolicy': execution.child_policy,
            'tagList': list(execution.tag_list) if execution.tag_list else None,
            'workflowTypeVersion': execution.workflow_version,
            'lambdaRole': execution.lambda_role,
        }
        return {'decisionType': 'ContinueAsNewWorkflowExecution',
                'continueAsNewWorkflowExecutionDecisionAttributes': {
                    name: value for name, value in attributes.items() if value is not None}}
    raise TypeError('unknown workflow outcome %r' % (outcome,))


def _size(swf_decision):
    """The bytes of ``swf_decision`` in a request: JSON as botocore writes it (ASCII)."""
    return len(json.dumps(swf_decision))


def to_swf(decision, task_types, execution, limit=MAX_DECISIONS, store=None,
           budget=MAX_RESPONSE_BYTES, call_limit=None):
    """The SWF decisions (a list of dicts) that carry out ``decision``.

    ``task_types`` maps each dependency name to its :class:`TaskType`; ``execution`` is
    the run's :class:`~flowy.swf.history.ExecutionHistory`, fed up to this decision task.
    Calls waiting for a retry or back-off timer are kept in ``execution.waiting`` and
    scheduled once it fires; calls that do not fit in this response are kept in
    ``execution.backlog``; calls started in this response are kept in ``execution.sent``
    until the history has them (or has SWF's refusal, throttled ones then wait).
    A response starts at most ``call_limit`` calls (the ``limit`` the driver was given;
    by default the one it showed by stopping at it, else ``limit - 1``), those of the
    backlog, the waiting calls and the calls of ``decision`` together, first in call
    order (a call waiting for its timer takes its place without a decision, as under
    replay), and holds at most ``limit`` decisions and ``budget`` bytes of JSON.
    ``store`` (a :class:`~flowy.swf.payload.PayloadStore`) takes the inputs, result or
    restart input too large for SWF; store errors propagate.  Raises
    :class:`TooManyDecisions` if ``decision`` alone needs more than ``limit`` decisions
    (give the driver ``limit=CALL_LIMIT``; see the module documentation).
    """
    outcomes = execution.history
    waiting = execution.waiting
    sent = execution.sent
    for key in list(sent):
        call, refusals = sent[key]
        if outcomes.get(key) is not None:
            del sent[key]  # started, or refused for good
        elif execution.refusals(key) > refusals:
            # SWF refused it for a rate or a limit: it starts again after its back-off
            # timer, as the replay driver decides it again
            del sent[key]
            waiting[key] = call
    if decision.outcome is not None:
        if not _held_back(execution, call_limit):
            return [_close(decision.outcome, execution, store)]
        # The cached driver's body went on to its end while calls it made were held back
        # (by a retry or back-off timer, or by the limit of a response): replay, deciding
        # them all again, would stop at its limit before the end.  Do as it does: send
        # them, and decide again (the outcome comes back once they are in the history).
        decision = Decision(more=True)
    # Every call to start, decided now or earlier, by key: the backlog of earlier
    # responses, the calls of this decision (the replay driver decides the backlog and the
    # waiting calls again; the cached driver does not), and the calls waiting for a timer.
    slots = {}
    for key, (position, _key, call, swf_decision, size) in execution.backlog.items():
        if outcomes.get(key) is None:  # else it went out after all
            slots[key] = _Slot(position, key, call, swf_decision, size)
    for key in [key for key in waiting if outcomes.get(key) is not None]:
        del waiting[key]  # started (or failed to) since
    needed = decision.more
    for call in decision.calls:
        key = call.key
        if key in slots:
            needed += 1
            continue
        swf_decision = _translate_call(call, task_types, execution, store)
        slot = slots[key] = _Slot(call.position, key, call, swf_decision,
                                  waits=_waits(call, swf_decision, execution))
        if swf_decision is not None:
            needed += 1
        if slot.waits:
            waiting[key] = call
    if needed > limit:
        raise TooManyDecisions(
            'the decision needs %d SWF decisions, and a response holds at most %d; give '
            'the driver limit=%d' % (needed, limit, limit - 1))
    for key, call in waiting.items():
        if key not in slots:
            slots[key] = _Slot(call.position, key, call, _LATER, waits=True)
    if call_limit is None:
        if decision.more and decision.calls:  # a driver stops at its limit exactly
            execution.call_limit = len(decision.calls)
        call_limit = execution.call_limit or limit - 1
    ordered = sorted(slots.values(), key=_position)
    room = max(call_limit, len(decision.calls), 1)
    more = len(ordered) > room  # something is left for the next response
    decisions = []
    went = []
    used = 2  # the brackets of the list; each decision after the first adds ', '
    timers = False  # a call of this response waits for its retry timer
    for slot in ordered[:room]:
        if slot.decision is _LATER:
            slot.decision = _translate_call(slot.call, task_types, execution, store)
        if slot.decision is None:
            timers = True  # it takes its place in the limit, as under replay
            continue
        if slot.size is None:
            slot.size = _size(slot.decision)
        if decisions and (len(decisions) >= limit or used + 2 + slot.size > budget):
            more = True
            break
        used += slot.size + (2 if decisions else 0)
        decisions.append(slot.decision)
        went.append(slot)
    # A marker of a call that failed before it started schedules no decision task on
    # SWF: the wake-up timer brings the next one, so the body sees the failure at once.
    marked = any(d['decisionType'] == 'RecordMarker' for d in decisions)
    if (more or decision.more or marked) and (decisions or not timers):
        # (with nothing to send but calls waiting for their timers, a wake-up timer would
        # only bring the same decision back: the retry timer wakes the decider up)
        wake_up = _start_timer(WAKE_UP_TIMER_PREFIX + str(execution.last_event_id), 0)
        size = _size(wake_up) + 2
        # make room for the timer: what does not fit waits (in the backlog, or in
        # execution.waiting); one call at least goes out, so the run advances
        while len(decisions) > 1 and (len(decisions) >= limit or used + size > budget):
            decisions.pop()
            used -= went.pop().size + 2
        if len(decisions) < limit:
            decisions.append(wake_up)
    gone = set()
    for slot in went:
        gone.add(slot.key)
        if slot.decision['decisionType'] in _STARTS:  # until the history shows how it went
            sent[slot.key] = (slot.call, execution.refusals(slot.key))
    backlog = execution.backlog = {}
    for slot in ordered:
        if slot.key not in gone and not slot.waits:
            size = _size(slot.decision) if slot.size is None else slot.size
            backlog[slot.key] = (slot.position, slot.key, slot.call, slot.decision, size)
    return decisions


def _held_back(execution, call_limit):
    """Whether more calls are missing from the history than the driver's limit allows.

    They are the calls of the backlog and of ``execution.waiting`` (throttled ones
    included) that the history does not have yet; with a limit known (given, or
    learned), a replay driver would decide them all again and stop at its limit.
    """
    if call_limit is None:
        call_limit = execution.call_limit
    if call_limit is None:
        return False
    outcomes = execution.history
    missing = set(key for key in execution.backlog if outcomes.get(key) is None)
    missing.update(key for key in execution.waiting if outcomes.get(key) is None)
    return len(missing) > call_limit


_LATER = object()  # the decision of a waiting call: made if it is its turn
_STARTS = frozenset(['ScheduleActivityTask', 'StartChildWorkflowExecution'])


def _waits(call, swf_decision, execution):
    """Whether ``call`` goes through a retry or back-off timer (see ``_Slot.waits``)."""
    if type(call) is FailCall:
        return False
    if swf_decision is not None and swf_decision['decisionType'] == 'RecordMarker':
        return False
    return call.delay > 0 or execution.refusals(call.key) > 0


class _Slot:
    """A call to start in this response or a later one, and its SWF decision.

    ``waits``: the call goes through a retry or back-off timer, and lives in
    ``execution.waiting`` (its decision depends on the timer) rather than in the backlog.
    ``call`` is the flowy call (the backlog keeps it too, for ``execution.sent``).
    """

    __slots__ = ('position', 'key', 'call', 'decision', 'size', 'waits')

    def __init__(self, position, key, call, swf_decision, size=None, waits=False):
        self.position = position
        self.key = key
        self.call = call
        self.decision = swf_decision
        self.size = size
        self.waits = waits


def _position(slot):
    return slot.position
