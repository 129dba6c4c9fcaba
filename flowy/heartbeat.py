"""Heartbeats: an activity reports progress and learns whether it should stop.

An activity is a plain function.  When it runs for a while it may call
:func:`heartbeat` now and then::

    def encode(path):
        for done, chunk in enumerate(chunks(path)):
            if flowy.heartbeat({'done': done}):
                raise RuntimeError('cancelled')   # or return early
            process(chunk)

What a heartbeat does depends on the engine running the activity: on Amazon SWF it
records the heartbeat (which keeps a task with a heartbeat timeout alive) and returns
SWF's cancellation flag; on the local engine it returns True once the activity's result
is no longer wanted; called as plain Python, outside any engine, it does nothing and
returns False.  So the same function runs unchanged everywhere.

Engines install a *reporter* (a callable taking the details and returning the
cancellation flag) around each activity call with :class:`reporting`.  The reporter
lives in a context variable: it belongs to the thread (or asyncio context) that runs the
activity, and threads the activity starts itself do not inherit it.
"""

import contextvars
import json

from .run_context import Binding

# Engines use these two to carry heartbeats; workflow code needs only heartbeat().
__all__ = ['heartbeat', 'reporting', 'encode_details', 'MAX_DETAILS']

#: The most characters of heartbeat details (Amazon SWF's limit, kept on every engine).
MAX_DETAILS = 2048

_reporter = contextvars.ContextVar('flowy_heartbeat_reporter', default=None)


def heartbeat(details=None):
    """Report that the running activity makes progress; True if it should stop.

    ``details`` describe the progress (on SWF: a string of at most 2,048 characters, or
    a value encoded as JSON to one; an engine may raise ``ValueError`` or ``TypeError``
    for details it cannot take).  The return value is True when the engine asks the
    activity to stop: its result is no longer wanted (cancelled, timed out, or its
    workflow ended).  The activity should then raise or return early; nothing forces it
    to.  Outside any engine the call does nothing and returns False.
    """
    reporter = _reporter.get()
    if reporter is None:
        return False
    return bool(reporter(details))


class reporting(Binding):
    """``with reporting(reporter):`` heartbeats in this context go to ``reporter``.

    ``reporter(details) -> bool`` is called by :func:`heartbeat`.  The previous reporter
    (usually none) is restored on leaving the block.
    """

    __slots__ = ()
    variable = _reporter

    def __init__(self, reporter):
        if not callable(reporter):
            raise TypeError('a heartbeat reporter must be callable; got %r' % (reporter,))
        super().__init__(reporter)


def encode_details(details, limit=MAX_DETAILS):
    """The text an engine records for heartbeat ``details``, checked as SWF checks them.

    None stays None, a string is kept as it is, anything else is encoded as compact JSON.
    Raises ``TypeError`` for a value JSON cannot encode and ``ValueError`` for text longer
    than ``limit`` characters (2,048: Amazon SWF's limit), so details that work on one
    engine work on all.
    """
    if details is None:
        return None
    if not isinstance(details, str):
        try:
            details = json.dumps(details, ensure_ascii=False, separators=(',', ':'))
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError('heartbeat details must be a string or a value JSON can encode; '
                            'got %s: %s' % (type(details).__name__, exc)) from None
    if len(details) > limit:
        raise ValueError('heartbeat details are %d characters long; at most %d are allowed '
                         '(the limit of Amazon SWF)' % (len(details), limit))
    return details
