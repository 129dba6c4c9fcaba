"""Running one activity call in a worker: decode, call, encode; and naming its failure."""

import pickle
from concurrent.futures import BrokenExecutor, CancelledError

from ..errors import TaskError, exception_line, exception_text, failed_call_text, format_traceback
from ..heartbeat import encode_details, reporting
from ..run_context import Context, attempt_of, running

__all__ = ['run_activity', 'run_in_worker', 'failure_reason']


def run_activity(func, transport, key, input_data):
    """Run one activity call in a worker: decode, call, encode."""
    args, kwargs = transport.loads(input_data)
    try:
        value = func(*args, **kwargs)
    except Exception as exc:
        if _travels(exc):
            raise
        # An exception that cannot be rebuilt in the parent would break the whole
        # process pool; send what describes it instead: its message, its type's name and
        # its traceback (as text, so that it travels).
        reason = exception_text(exc)
        type_name = type(exc).__name__
        raise TaskError(reason, key, type_name, format_traceback(exc),
                        failed_call_text(key, reason, type_name)) from exc
    try:
        return transport.dumps(value)
    except Exception as exc:
        raise TypeError('cannot serialize the result of %s: %s'
                        % (key, exception_text(exc))) from exc


def run_in_worker(func, transport, key, input_data, ids=None):
    """:func:`run_activity` on a pool the event loop cannot see into (processes).

    Such a worker cannot know whether the run still wants the result, so its
    heartbeats answer False; their details are still checked, as on every engine.
    ``ids`` (the workflow's name, id and run id) make the call's :func:`flowy.context`.
    """
    context = None if ids is None else Context(*ids, key, attempt_of(key))
    with reporting(_unanswered_heartbeat), running(context):
        return run_activity(func, transport, key, input_data)


def _unanswered_heartbeat(details=None):
    encode_details(details)
    return False


def _travels(exc):
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return False
    return True


def failure_reason(exc):
    """The reason recorded for an activity that ended with ``exc``; never raises."""
    if isinstance(exc, BrokenExecutor):
        return ('the worker running this activity died unexpectedly (killed, out of memory, '
                'or crashed): %s' % exception_text(exc))
    if isinstance(exc, CancelledError):
        return 'the activity was cancelled'
    if isinstance(exc, TaskError) and exc.key is not None and exc.type_name is not None:
        return exc.reason  # flowy's description of an exception that could not travel
    if not isinstance(exc, Exception):  # SystemExit: its message is only its code
        return exception_line(exc)
    return exception_text(exc)
