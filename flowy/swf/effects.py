"""Timers, markers, signals and cancellations of a workflow body on SWF.

What the drivers decide besides task calls (:class:`~flowy.decision.StartTimer`,
:class:`~flowy.decision.RecordMarker`, :class:`~flowy.decision.CancelCall`) and what
SWF reports back about them.  The SWF decisions:

* ``sleep()``: ``StartTimer`` with ``timerId`` = the key (``@sleep-0``), its seconds
  rounded up to SWF's whole seconds, and ``control`` = ``{"position": ...}``;
* ``marker()`` and ``now()``: ``RecordMarker`` named as the body named it (``now``
  for ``now()``), whose ``details`` are :func:`effect_details`:
  ``{"key": ..., "position": ..., "value": <the encoded value>}``.  A value that would
  make the details too long for SWF travels through the payload store (without one,
  the run fails with a reason naming the size);
* ``cancel()`` of an activity: ``RequestCancelActivityTask``; of a child workflow:
  ``RequestCancelExternalWorkflowExecution`` (``control`` = ``{"key": ...}``); of a
  timer: ``CancelTimer``; of a call not started on SWF yet (waiting for its arguments,
  for a retry timer or in a response's backlog, or decided in this very response): a
  :data:`CANCELLED_MARKER` marker with ``{"key": ..., "position": ...}``, and the call
  is never sent.  Every cancel ends the response with the wake-up timer, so that the
  body sees the cancellation at the next decision, whatever it waits for.

How :class:`~flowy.swf.history.ExecutionHistory` reads them back (see
:func:`read_marker` and the handlers there): ``TimerStarted`` of a body's timer is its
start (with the position), ``TimerFired`` its completion, ``TimerCanceled`` its
cancellation; a marker with those details is recorded completed at once;
``WorkflowExecutionSignaled`` is ``history.signalled(signalName, input)`` in event
order.  A cancellation is recorded when SWF accepts the request, so that the body
sees :class:`flowy.TaskCancelled` from the next decision on whatever the task does
afterwards: at ``ActivityTaskCancelRequested`` for an activity, at
``RequestCancelExternalWorkflowExecutionInitiated`` for a child workflow (the child
may then end any way: its events are ignored), at ``TimerCanceled`` for a timer, at
the marker for a call not started.  When the thing had finished already, SWF answers
with ``RequestCancelActivityTaskFailed``, ``CancelTimerFailed`` or
``RequestCancelExternalWorkflowExecutionFailed``, which change nothing: the outcome
recorded before stands.

A whole-run cancel (``WorkflowExecutionCancelRequested``) is :func:`cancel_run`: cancel
every activity, timer and child workflow still running, then
``CancelWorkflowExecution``.
"""

import json

from ..decision import CancelCall, RecordMarker, StartTimer
from ..history import RUNNING, call_id
from .decisions import cancel_workflow, start_timer
from .payload import MAX_DATA, encode_field

__all__ = ['CANCELLED_MARKER', 'EFFECTS', 'effect_details', 'read_marker', 'translate_effects',
           'cancel_run', 'WAKING']

#: The marker of a call cancelled before it started on SWF.
CANCELLED_MARKER = 'flowy.cancelled'
#: The command types this module turns into SWF decisions.
EFFECTS = (StartTimer, RecordMarker, CancelCall)
#: SWF decision types after which the response ends with the wake-up timer.
WAKING = frozenset(['RequestCancelActivityTask', 'RequestCancelExternalWorkflowExecution',
                    'CancelTimer'])
_COMPACT = (',', ':')
_ENVELOPE = 200  # characters the key and position may take in a marker's details


def _decision(kind, attributes):
    return {'decisionType': kind, kind[:1].lower() + kind[1:] + 'DecisionAttributes': attributes}


def _json(**values):
    return json.dumps(values, separators=_COMPACT, ensure_ascii=False)


def effect_details(key, position, value):
    """The details of the marker that records ``value`` (encoded) under ``key``."""
    return _json(key=key, position=position, value=value)


def read_marker(details):
    """``(key, position, value)`` of a body's marker, or None for a marker of another kind.

    ``value`` is None for a :data:`CANCELLED_MARKER` marker (it has none).
    """
    try:
        values = json.loads(details or '')
    except ValueError:
        return None
    if type(values) is not dict:
        return None
    key, position, value = values.get('key'), values.get('position'), values.get('value')
    if type(key) is not str or not key:
        return None
    if position is not None and (type(position) is not int or position < 0):
        position = None
    if value is not None and type(value) is not str:
        return None
    return key, position, value


def _marker(command, store):
    """``RecordMarker`` for a marker or ``now()`` value (stored if it does not fit)."""
    what = 'the details of marker %r (%s)' % (command.name, command.key)
    value = encode_field(command.details, what, store, limit=MAX_DATA - _ENVELOPE)
    details = effect_details(command.key, command.position, value)
    if len(details) > MAX_DATA:  # escaping made it longer: store it whatever its size
        value = encode_field(command.details, what, store, limit=0 if store else MAX_DATA)
        details = effect_details(command.key, command.position, value)
    return _decision('RecordMarker', {'markerName': command.name, 'details': details})


def _timer(command):
    decision = start_timer(command.key, command.seconds)
    decision['startTimerDecisionAttributes']['control'] = _json(position=command.position)
    return decision


def cancelled_marker(key, position=None):
    """The marker that records ``key`` cancelled before it started on SWF."""
    return _decision('RecordMarker', {'markerName': CANCELLED_MARKER,
                                      'details': _json(key=key, position=position)})


def _cancel_request(execution, key):
    """The decision that asks SWF to stop ``key`` (running), or None if nothing runs it."""
    kind, name = execution.started_as(key)
    if kind == 'activity':
        return _decision('RequestCancelActivityTask', {'activityId': key})
    if kind == 'timer':
        return _decision('CancelTimer', {'timerId': key})
    if kind == 'child':
        attributes = {'workflowId': name, 'control': _json(key=key)}
        run_id = execution.child_run_id(key)
        if run_id:
            attributes['runId'] = run_id
        return _decision('RequestCancelExternalWorkflowExecution', attributes)
    return None


def translate_effects(effects, execution, pending, store=None):
    """The SWF decisions of ``effects``, and the keys of calls they cancelled unsent.

    ``pending``: key -> call of the calls decided (now or before) that are not in the
    history yet; a call among them that a ``CancelCall`` targets is recorded cancelled
    with a marker, and must not be sent (the keys returned).
    """
    decisions = []
    dropped = set()
    history = execution.history
    for command in effects:
        kind = type(command)
        if kind is StartTimer:
            if command.key in dropped:
                continue
            decisions.append(_timer(command))
        elif kind is RecordMarker:
            decisions.append(_marker(command, store))
        else:
            key = history.to_cancel(command.target)
            if key is None:
                # a call waiting for its retry timer: its next attempt is not in the history
                key = next((k for k in pending if call_id(k) == command.target
                            and history.get(k) is None and k not in dropped), None)
                if key is None:
                    continue
            outcome = history.get(key)
            if outcome is None:
                decisions.append(cancelled_marker(key, command.position))
                dropped.add(key)
                continue
            request = _cancel_request(execution, key) if outcome.state is RUNNING else None
            if request is not None:
                decisions.append(request)
    # a timer started and cancelled in the same response: neither goes out
    decisions = [d for d in decisions if not (d['decisionType'] == 'StartTimer' and
                 d['startTimerDecisionAttributes']['timerId'] in dropped)]
    return decisions, dropped


def cancel_run(execution, details):
    """What closes a run whose cancellation was requested: stop what runs, then cancel."""
    decisions = []
    for key in execution.running():
        request = _cancel_request(execution, key)
        if request is not None:
            decisions.append(request)
    decisions.append(cancel_workflow(details))
    return decisions
