"""The history events of a body's timers, markers, signals and cancellations.

Handlers that :class:`~flowy.swf.history.ExecutionHistory` calls for these events
(``handler(execution, event_id, event_type, attributes)``); what each event means is
in :mod:`flowy.swf.effects`.  A timer of the body has an id that starts with
:data:`flowy.history.BUILTIN` (``@sleep-0``), which no retry, back-off or wake-up timer
has.
"""

import datetime
import json

from ..history import BUILTIN, RUNNING
from .events import HistoryError, optional_text, text
from .payload import PayloadMissing, decode_field

__all__ = ['is_body_timer', 'decision_time', 'HANDLERS', 'on_timer_started', 'on_timer_fired',
           'on_timer_canceled', 'on_start_timer_failed', 'on_marker']


def is_body_timer(timer_id):
    """Whether ``timer_id`` is a timer the body started with ``sleep()``."""
    return timer_id[:1] == BUILTIN


def decision_time(event):
    """The ``eventTimestamp`` of ``event`` in seconds since the epoch, or None.

    boto3 gives a ``datetime`` (or, when the client leaves timestamps as sent, a number).
    """
    stamp = event.get('eventTimestamp')
    if isinstance(stamp, datetime.datetime):
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.timezone.utc)
        return stamp.timestamp()
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        return float(stamp)
    if isinstance(stamp, str):
        try:
            return float(stamp)
        except ValueError:
            try:
                return datetime.datetime.fromisoformat(stamp).timestamp()
            except ValueError:
                return None
    return None


def _position(attributes):
    try:
        value = json.loads(optional_text(attributes, 'control') or '')
    except ValueError:
        return None
    position = value.get('position') if type(value) is dict else None
    return position if type(position) is int and position >= 0 else None


def _running(execution, key):
    outcome = execution.history.get(key)
    return outcome is not None and outcome.state is RUNNING


def _cancel(execution, key, reason=None):
    """Record ``key`` cancelled (if it still runs); its later events are ignored.

    The reason is the history's own (``square-3 was cancelled``), as on every engine.
    """
    if _running(execution, key):
        execution.history.cancelled(key, reason)
        execution.cancelled_keys.add(key)


# -- timers -------------------------------------------------------------------------------

def on_timer_started(execution, event_id, timer_id, attributes):
    if execution.history.get(timer_id) is None:
        execution.history.scheduled(timer_id, _position(attributes))
        execution.started_kinds[timer_id] = ('timer', None)


def on_timer_fired(execution, event_id, timer_id, attributes):
    if _running(execution, timer_id):
        execution.history.completed(timer_id, 'null')


def on_timer_canceled(execution, event_id, timer_id, attributes):
    _cancel(execution, timer_id)


def on_start_timer_failed(execution, event_id, timer_id, attributes):
    cause = optional_text(attributes, 'cause')
    if execution.history.get(timer_id) is None:
        from .history import SWFFailure

        reason = 'SWF could not start the timer %s: %s' % (timer_id, cause)
        execution.history.failed(timer_id, reason, SWFFailure(reason, 'StartTimerFailed', cause))


# -- markers --------------------------------------------------------------------------------

def on_marker(execution, event_id, name, details):
    """Read a marker of the body (a value, or a call cancelled before it started).

    Returns False for a marker of another kind (a call_failed marker, or not flowy's).
    The details tell them apart, not the name, which is the body's own choice.
    """
    from .effects import CANCELLED_MARKER, read_marker

    found = read_marker(details)
    if found is None:
        return False
    key, position, value = found
    history = execution.history
    if value is None:
        if name != CANCELLED_MARKER:
            return False
        outcome = history.get(key)
        if outcome is None or outcome.state is RUNNING:
            history.cancelled(key)
            execution.cancelled_keys.add(key)
        return True
    if key[:1] != BUILTIN:
        return False
    if history.get(key) is not None:
        return True  # recorded twice: the first one counts
    try:
        value = decode_field(value, execution.store, 'the details of marker %r' % name)
    except PayloadMissing as exc:
        raise HistoryError('cannot read %s' % exc) from exc
    history.scheduled(key, position)
    history.completed(key, value)
    execution.markers.append((name, key))
    return True


# -- signals and cancel requests ------------------------------------------------------------

def _on_signaled(execution, event_id, event_type, attributes):
    name = text(attributes, 'signalName')
    data = optional_text(attributes, 'input')
    try:
        data = decode_field(data, execution.store, 'the input of signal %r' % name)
    except PayloadMissing as exc:
        raise HistoryError('cannot read %s' % exc) from exc
    execution.history.signalled(name, 'null' if data is None else data)


def _on_activity_cancel_requested(execution, event_id, event_type, attributes):
    key = text(attributes, 'activityId')
    _cancel(execution, key)


def _on_cancel_external_initiated(execution, event_id, event_type, attributes):
    try:
        control = json.loads(optional_text(attributes, 'control') or '')
    except ValueError:
        control = None
    key = control.get('key') if type(control) is dict else None
    if type(key) is not str:
        key = execution.child_key(optional_text(attributes, 'workflowId') or '')
    if key is not None:
        _cancel(execution, key)


def _on_child_started(execution, event_id, event_type, attributes):
    started = attributes.get('workflowExecution')
    initiated = attributes.get('initiatedEventId')
    if type(started) is dict and type(initiated) is int:
        key = execution.child_key_at(initiated)
        if key is not None and type(started.get('runId')) is str:
            execution.child_run_ids[key] = started['runId']


def _ignored(execution, event_id, event_type, attributes):
    """A cancel request SWF refused (the thing had finished): what was recorded stands."""


HANDLERS = {
    'WorkflowExecutionSignaled': _on_signaled,
    'ActivityTaskCancelRequested': _on_activity_cancel_requested,
    'RequestCancelExternalWorkflowExecutionInitiated': _on_cancel_external_initiated,
    'ChildWorkflowExecutionStarted': _on_child_started,
    'RequestCancelActivityTaskFailed': _ignored,
    'CancelTimerFailed': _ignored,
    'RequestCancelExternalWorkflowExecutionFailed': _ignored,
    'ExternalWorkflowExecutionCancelRequested': _ignored,
}
