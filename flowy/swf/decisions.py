"""The SWF decisions that carry out a flowy :class:`~flowy.decision.Decision`.

Each function here makes the SWF decision (a dict, as ``respond_decision_task_completed``
takes it) for one part of a decision, named as :mod:`flowy.swf.names` says;
:func:`flowy.swf.packer.to_swf` packs them into responses.

* a call to start now becomes ``ScheduleActivityTask`` (``activityId`` = the call key)
  or ``StartChildWorkflowExecution`` (``workflowId`` = ``<parent workflowId>.<key>``,
  or ``<parent workflowId>.<tag>.<key>`` in a run continued from another); ``control``
  carries the call's position in the body (and, for a child, its key), which
  :class:`~flowy.swf.history.ExecutionHistory` reads back;
* a call with a retry delay whose timer has not fired becomes ``StartTimer``
  (``<key>.retry``), or nothing while that timer is pending;
* a call whose start SWF refused for a rate or a limit (the ``n``-th time, counted from
  the events; :data:`~flowy.swf.history.THROTTLE_CAUSES`) waits the same way, for its
  back-off timer ``<key>.backoff.<n>`` (1, 2, 4 ... seconds up to 5 minutes, plus a
  jitter drawn from the key), then starts again with the same key (or starts its retry
  timer, if that was the start refused);
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
* a response holds at most :data:`MAX_DECISIONS` (100) decisions and
  :data:`MAX_RESPONSE_BYTES` of JSON (see :mod:`flowy.swf.packer`).
"""

import json
import math

from ..config import ACTIVITY
from ..decision import Cancelled, Fail, FailCall, Finish, Restart
from ..errors import FlowyError, TaskError
from .failures import failure_fields
from .names import (
    CALL_FAILED_MARKER,
    MAX_ID_LENGTH,
    WAKE_UP_TIMER_PREFIX,
    backoff_delay,
    backoff_timer_id,
    child_workflow_id,
    retry_timer_id,
)
from .payload import MAX_DATA, MAX_REASON, PayloadError, PayloadTooLarge, encode_field
from .types import MAX_DURATION

__all__ = ['MAX_DECISIONS', 'CALL_LIMIT', 'MAX_DATA', 'MAX_REASON', 'MAX_RESPONSE_BYTES',
           'WAKE_UP_TIMER_PREFIX', 'TooManyDecisions', 'translate_call', 'close_decision',
           'fail_workflow', 'cancel_workflow', 'start_timer', 'wake_up_timer', 'size']

MAX_DECISIONS = 100
CALL_LIMIT = MAX_DECISIONS - 1
MAX_RESPONSE_BYTES = 900000  # JSON of a response's decisions; SWF takes 1 MB in all
STARTS = frozenset(['ScheduleActivityTask', 'StartChildWorkflowExecution'])
CLOSING = frozenset(['CompleteWorkflowExecution', 'FailWorkflowExecution',
                     'ContinueAsNewWorkflowExecution'])
_COMPACT = (',', ':')


class TooManyDecisions(FlowyError, ValueError):
    """A decision would need more SWF decisions than one response may hold."""


def _decision(kind, attributes):
    return {'decisionType': kind, kind[:1].lower() + kind[1:] + 'DecisionAttributes': attributes}


def _control(**values):
    return json.dumps(values, separators=_COMPACT)


def _too_large(what, length, limit=MAX_DATA):
    return '%s is %d characters; SWF allows %d' % (what, length, limit)


def _marker_details(key, position, reason):
    return json.dumps({'key': key, 'position': position, 'reason': reason},
                      separators=_COMPACT, ensure_ascii=False)


def call_failed(key, position, reason):
    """A ``flowy.call_failed`` marker; a reason too long for the details is cut."""
    details = _marker_details(key, position, reason)
    kept = len(reason)
    while len(details) > MAX_DATA:
        # escaping makes the text longer than the reason: keep a share that fits
        kept = max(0, min(kept - 1, kept * (MAX_DATA - 64) // len(details)))
        details = _marker_details(key, position, reason[:kept] + ' [cut]')
    return _decision('RecordMarker', {'markerName': CALL_FAILED_MARKER, 'details': details})


def start_timer(timer_id, delay):
    """``StartTimer``: ``delay`` seconds, rounded up to SWF's whole seconds."""
    seconds = min(max(math.ceil(delay), 0), MAX_DURATION)
    return _decision('StartTimer', {'timerId': timer_id, 'startToFireTimeout': str(seconds)})


def wake_up_timer(last_event_id):
    """The zero-second timer that brings the next decision task at once."""
    return start_timer(WAKE_UP_TIMER_PREFIX + str(last_event_id), 0)


def fail_workflow(reason, more=None, type_name=None):
    """``FailWorkflowExecution``: the reason cut to fit, whole in the details beside ``more``
    (a hint, or the traceback of the task that failed the run) and ``type_name``."""
    reason, details = failure_fields(reason, more, type_name)
    attributes = {'reason': reason}
    if details is not None:
        attributes['details'] = details
    return _decision('FailWorkflowExecution', attributes)


def cancel_workflow(details='cancelled on request'):
    """``CancelWorkflowExecution``."""
    return _decision('CancelWorkflowExecution', {'details': details[:MAX_DATA]})


def _start(kind, task_type, data, **names):
    attributes = task_type._attributes()
    attributes.update(names)
    if data is not None:
        attributes['input'] = data
    return _decision(kind, attributes)


def _schedule_activity(call, task_type, data):
    return _start('ScheduleActivityTask', task_type, data,
                  activityType={'name': task_type.name, 'version': task_type.version},
                  activityId=call.key, control=_control(position=call.position))


def _start_child(call, task_type, workflow_id, data):
    return _start('StartChildWorkflowExecution', task_type, data,
                  workflowType={'name': task_type.name, 'version': task_type.version},
                  workflowId=workflow_id, control=_control(key=call.key, position=call.position))


def _refusal(error, what):
    """Why a value cannot be sent without a store (the short message of a size)."""
    if type(error) is PayloadTooLarge:
        return _too_large(what, error.size, error.limit)
    return str(error)


def _id_too_long(call, what, value):
    return call_failed(call.key, call.position, _too_large(
        '%s %s' % (what, call.key), len(value), MAX_ID_LENGTH))


def translate_call(call, task_types, execution, store=None):
    """The SWF decision for one call, or None (its retry or back-off timer is pending).

    ``execution``: the run's :class:`~flowy.swf.history.ExecutionHistory` (its timers
    and refusals); ``store``: the payload store for inputs too large for SWF.
    """
    if type(call) is FailCall:
        return call_failed(call.key, call.position, call.reason)
    task_type = task_types.get(call.dep)
    if task_type is None:
        raise ValueError('no SWF task type is configured for the dependency %r (call %s); '
                         'give a TaskType for every dependency' % (call.dep, call.key))
    if call.input is not None and store is None:
        what = 'input of %s' % call.key
        try:
            encode_field(call.input, what)
        except PayloadError as exc:  # without a store, the input can never be sent
            return call_failed(call.key, call.position, _refusal(exc, what))
    timer = _timer_first(call, execution)
    if timer is not _NO_TIMER:
        return timer
    if task_type.kind == ACTIVITY:
        if len(call.key) > MAX_ID_LENGTH:
            return _id_too_long(call, 'the activity id', call.key)
        return _schedule_activity(call, task_type, _encode_input(call, store))
    return _child_decision(call, task_type, execution, store)


_NO_TIMER = object()  # the call may start now


def _timer_first(call, execution):
    """The timer ``call`` waits for: a StartTimer, None (pending), or _NO_TIMER."""
    key = call.key
    refusals = execution.refusals(key)
    if refusals and not execution.backoff_fired(key):
        timer_id = backoff_timer_id(key, refusals)
        if len(timer_id) > MAX_ID_LENGTH:
            return _id_too_long(call, 'the back-off timer id of', timer_id)
        if execution.backoff_pending(key):
            return None
        return start_timer(timer_id, backoff_delay(key, refusals))
    if call.delay > 0 and not execution.timer_fired(key):
        timer_id = retry_timer_id(key)
        if len(timer_id) > MAX_ID_LENGTH:
            return _id_too_long(call, 'the retry timer id of', timer_id)
        if execution.timer_pending(key):
            return None
        return start_timer(timer_id, call.delay)
    return _NO_TIMER


def _child_decision(call, task_type, execution, store):
    if execution.workflow_id is None:
        raise ValueError('the workflowId of this run is needed to name the child workflow '
                         '%s: give ExecutionHistory(workflow_id=...)' % call.key)
    workflow_id = child_workflow_id(execution.workflow_id, call.key, execution.run_tag)
    if len(workflow_id) > MAX_ID_LENGTH:
        return _id_too_long(call, 'the child workflow id of', workflow_id)
    return _start_child(call, task_type, workflow_id, _encode_input(call, store))


def _encode_input(call, store):
    """The input to send: checked already without a store, stored if need be with one."""
    if store is None:
        return call.input
    return encode_field(call.input, 'the input of %s' % call.key, store)


def _encoded(value, what, store):
    """``(text, None)`` to send, or ``(None, FailWorkflowExecution)`` if it cannot be."""
    try:
        return encode_field(value, what, store), None
    except PayloadError as exc:
        if store is not None:
            raise
        return None, fail_workflow(_refusal(exc, what))


def close_decision(outcome, execution, store=None):
    """The decision that closes the run with ``outcome`` (Finish, Fail or Restart)."""
    kind = type(outcome)
    if kind is Finish:
        result, failed = _encoded(outcome.result, 'the result of the workflow', store)
        if failed is not None:
            return failed
        return _decision('CompleteWorkflowExecution', {} if result is None else {'result': result})
    if kind is Fail:
        # a task error the body left unhandled: its traceback and type go along, for
        # ``flowy status -v`` and the SWF console
        error = outcome.error
        if isinstance(error, TaskError) and error.key is not None:
            return fail_workflow(outcome.reason, error.traceback, error.type_name)
        return fail_workflow(outcome.reason)
    if kind is Cancelled:
        return cancel_workflow(outcome.reason)
    if kind is Restart:
        data, failed = _encoded(outcome.input, 'the restart input of the workflow', store)
        if failed is not None:
            return failed
        return _continue_as_new(data, execution)
    raise TypeError('unknown workflow outcome %r' % (outcome,))


def _continue_as_new(data, execution):
    """``ContinueAsNewWorkflowExecution`` with what the run had (and nothing it lacked)."""
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
    return _decision('ContinueAsNewWorkflowExecution',
                     {name: value for name, value in attributes.items() if value is not None})


def size(swf_decision):
    """The bytes of ``swf_decision`` in a request: JSON as botocore writes it (ASCII)."""
    return len(json.dumps(swf_decision))
