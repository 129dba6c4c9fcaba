"""What a workflow body can do besides calling tasks: wait for time or for signals,
record values, cancel calls, and ask which run it is.

Each function works inside a workflow run by any flowy engine, where it is recorded in
the run's history and replayed exactly, and as plain Python outside one, so a workflow
still runs unchanged as an ordinary program (where ``sleep`` sleeps and ``now`` reads
the clock).  Their results are lazy results like a task's: they compose with
:func:`~flowy.first`, :func:`~flowy.wait`, :func:`~flowy.finish_order` and
:func:`~flowy.parallel_reduce`.  A deadline is a race with a timer::

    answer = first(self.ask_human(request), flowy.sleep(24 * 3600))
"""

import datetime
import math
import time

from .errors import UsageError
from .result import _active, result_of
from .run_context import Context, activity_context

__all__ = ['sleep', 'now', 'wait_signal', 'marker', 'cancel', 'context', 'check_signal_name',
           'MAX_NAME']

#: The most characters of a signal's or a marker's name (Amazon SWF's limit).
MAX_NAME = 256


def sleep(seconds):
    """A result that finishes, with None, ``seconds`` from now: a durable timer.

    In a workflow the timer is recorded in the run's history and holds no thread; the
    body waits only where it uses the result, so ``first(task(x), sleep(60))`` is a
    deadline of a minute.  ``seconds`` is a finite number >= 0 (Amazon SWF counts whole
    seconds: a fraction is rounded up there).  Outside a workflow this is
    ``time.sleep(seconds)``, returning None.
    """
    seconds = check_seconds(seconds)
    activation = _active.get()
    if activation is None:
        time.sleep(seconds)
        return None
    return activation.timer(seconds)


def now():
    """The time of the current decision, as a timezone-aware UTC ``datetime``.

    A workflow body must not read the clock (a replay would read another time); this
    is the time at which the run first reached this call, recorded in its history and
    the same on every replay.  Outside a workflow it is the current time.
    """
    activation = _active.get()
    if activation is None:
        return datetime.datetime.now(datetime.timezone.utc)
    return activation.now()


def wait_signal(name):
    """A result that finishes with the value of the next signal called ``name``.

    Signals reach a run from outside (a run handle's ``signal()``, ``flowy local
    signal``, ``flowy signal`` on SWF) and are kept in arrival order, also when they
    arrive before the body waits: the first ``wait_signal('approve')`` gets the first
    ``approve`` signal, the second the second.  Race it with :func:`sleep` to give up
    after a while.  Outside a workflow there is nothing to receive a signal, and this
    raises :class:`~flowy.UsageError`.
    """
    name = check_signal_name(name)
    activation = _active.get()
    if activation is None:
        raise UsageError('wait_signal(%r) can only be used in a workflow run by a flowy '
                         'engine: signals are sent to a run (a run handle from '
                         'LocalWorkflow.start(), or a workflow on SWF)' % name)
    return activation.signal(name)


def marker(name, details=None):
    """Record ``details`` under ``name`` in the run's history (SWF: a marker).

    Markers are for people reading a run (status and trace tools show them) and cost
    one history entry; ``details`` must be serializable by the workflow's transport.
    Outside a workflow this does nothing.  Returns None.
    """
    name = _check_name('marker', name)
    activation = _active.get()
    if activation is not None:
        activation.record('@marker', name, details)
    return None


def cancel(result):
    """Ask the task call, child workflow or timer behind ``result`` to stop.

    Its result fails with :class:`~flowy.TaskCancelled` from the next decision on,
    whatever the task does meanwhile: a running activity's ``heartbeat()`` returns
    True (on the local engine's processes its worker is stopped), a child workflow is
    cancelled, a timer is dropped, and a call still waiting for its arguments never
    starts.  A result that has finished, and a plain value, are left as they are.
    """
    task_result = result_of(result)
    if task_result is None:
        return None
    activation = _active.get()
    if activation is not None:
        activation.cancel(task_result)
    return None


def context():
    """Which run this code belongs to: a :class:`~flowy.Context`.

    In a workflow body: ``workflow`` (its name), ``workflow_id`` and ``run_id``; in an
    activity run by an engine, also ``key`` (the call key, e.g. ``charge-3-0``) and
    ``attempt`` (from 0), which make good idempotency keys.  Outside both it raises
    :class:`~flowy.UsageError`.
    """
    activation = _active.get()
    if activation is not None:
        workflow, workflow_id, run_id = activation.context_ids()
        return Context(workflow, workflow_id, run_id)
    found = activity_context()
    if found is None:
        raise UsageError('flowy.context() is only known inside a workflow body or an '
                         'activity run by a flowy engine; this code runs outside both')
    return found


def check_seconds(seconds):
    """``seconds`` as a float if it is a finite number >= 0; else a clear error."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        result = result_of(seconds)
        if result is None:
            raise TypeError('sleep() takes a number of seconds; got %r' % (seconds,))
        return check_seconds(result.get())
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError('sleep() takes a finite number of seconds >= 0; got %r' % (seconds,))
    return float(seconds)


def check_signal_name(name):
    """``name`` if it can name a signal on every engine; else a clear error."""
    return _check_name('signal', name)


def _check_name(what, name):
    if not isinstance(name, str):
        raise TypeError('a %s name must be a string; got %r' % (what, name))
    if not name or len(name) > MAX_NAME:
        raise ValueError('a %s name must have 1 to %d characters; got %r'
                         % (what, MAX_NAME, name))
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
        raise ValueError('a %s name cannot hold control characters; got %r' % (what, name))
    return name
