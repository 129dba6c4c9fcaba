"""What both drivers know about one call: its record, its arguments, its errors.

A :class:`Call` is one attempt of one task call as a driver carries it from the body's
call to the decision that starts it (and, under the cached driver, to the outcome that
resolves it).  :func:`scan_call` finds the results in a call's arguments; the error
helpers turn a recorded outcome into the exception the body sees.
"""

from ..errors import (
    FlowyError,
    TaskCancelled,
    TaskError,
    TaskTimedout,
    UsageError,
    describe_failure,
    exception_line,
    exception_text,
    failed_call_text,
)
from ..history import call_id
from ..result import ERROR, PENDING, VALUE, ResultProxy, TaskResult

__all__ = ['Call', 'PendingValue', 'scan_call', 'scan', 'snapshot', 'failed_error',
           'timed_out_error', 'cancelled_error', 'copied_error', 'reason_of']

_PLAIN = frozenset([int, str, float, bool, type(None), bytes])


class Call:
    """Attempt ``attempt`` of call ``number`` of ``spec``, made at task-call ``position``.

    ``result`` is the body's result for the call (shared by every attempt); ``args`` and
    ``kwargs`` are the arguments as the body passed them, results included.
    """

    __slots__ = ('result', 'spec', 'number', 'attempt', 'position', 'args', 'kwargs', 'key')

    def __init__(self, result, spec, number, attempt, position, args, kwargs):
        self.result = result
        self.spec = spec
        self.number = number
        self.attempt = attempt
        self.position = position
        self.args = args
        self.kwargs = kwargs
        self.key = f'{spec.dep}-{number}-{attempt}'

    def next_attempt(self):
        """The record of the attempt after this one (same result, same arguments)."""
        return Call(self.result, self.spec, self.number, self.attempt + 1, self.position,
                    self.args, self.kwargs)

    @property
    def last_attempt(self):
        return self.attempt + 1 == len(self.spec.retry)

    def __repr__(self):
        return '<Call %s at %d>' % (self.key, self.position)


class PendingValue(FlowyError):
    """A value being encoded holds a result that has not finished.

    Raised where waiting is impossible: while a driver encodes a call's input or the
    workflow's result (for instance from inside a ``__json__()`` method).
    """

    def __init__(self, result):
        super().__init__(
            'it holds the result of %s, which has not finished: wait for such values '
            '(flowy.wait) before they are encoded' % (result.key or 'an operation'))


class _Scan:
    """What a walk over call arguments found: finished, failed and pending results."""

    __slots__ = ('error', 'pending', 'deps', 'resolver')

    def __init__(self, resolver=None):
        self.error = None
        self.pending = None
        self.deps = []
        self.resolver = resolver

    def substitute(self, value):
        """A copy of ``value`` with finished results replaced by their values."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is ResultProxy:
            return self._result(value)
        if kind is list:
            return [self.substitute(item) for item in value]
        if kind is tuple:
            return tuple([self.substitute(item) for item in value])
        if kind is dict:
            return {self.substitute(k): self.substitute(v) for k, v in value.items()}
        if kind is set or kind is frozenset:
            return kind(self.substitute(item) for item in value)
        return value

    def _result(self, proxy):
        result = proxy.__factory__
        if result.state is VALUE:
            if result.key is not None:
                self.deps.append(result.key)
            try:
                return result.get()
            except TaskError:
                pass  # its value could not be decoded: it is an error now
        if result.state is ERROR:
            if self.error is None or result.order < self.error.order:
                self.error = result
        elif result.state is PENDING:
            if self.resolver is not None and result.resolver is not self.resolver:
                raise UsageError(
                    'the value holds the result of %s, which belongs to another workflow '
                    'run: only the run that made a call can wait for it (pass plain values '
                    'between runs instead)' % (result.key or 'an operation'))
            if self.pending is None:
                self.pending = []
            self.pending.append(result)
        return proxy


def snapshot(value):
    """A copy of the containers in ``value`` (lists, tuples, dicts, sets), not the leaves.

    A call that starts later than the body made it (a retry, or a call waiting for its
    arguments) must send the arguments as they were at the call, as a replay would,
    even if the body changed its lists or dicts since.
    """
    kind = type(value)
    if kind is list:
        return [snapshot(item) for item in value]
    if kind is tuple:
        return tuple([snapshot(item) for item in value])
    if kind is dict:
        return {snapshot(k): snapshot(v) for k, v in value.items()}
    if kind is set or kind is frozenset:
        return kind(snapshot(item) for item in value)
    return value


def scan_call(args, kwargs, resolver=None):
    """``scan`` for the arguments of a call: (args copy, kwargs copy, scan).

    With a ``resolver``, a pending result that belongs to another one raises UsageError.
    """
    found = _Scan(resolver)
    substitute = found.substitute
    try:
        plain_args = [item if type(item) in _PLAIN else substitute(item) for item in args]
        plain_kwargs = {key: substitute(value) for key, value in kwargs.items()}
    except RecursionError:
        raise ValueError('the value is nested too deeply, or contains itself') from None
    return plain_args, plain_kwargs, found


def scan(value, resolver=None):
    """Walk ``value`` (nested lists, tuples, dicts, sets) and return (copy, scan)."""
    found = _Scan(resolver)
    try:
        copy = found.substitute(value)
    except RecursionError:
        raise ValueError('the value is nested too deeply, or contains itself') from None
    return copy, found


def failed_error(key, outcome):
    """The TaskError of attempt ``key``, which failed as ``outcome`` records.

    It says ``key failed: Type: reason`` and carries the type's name and the traceback
    that the engine recorded with the failure (see :func:`flowy.errors.describe_failure`).
    """
    cause, reason = outcome.cause, outcome.reason
    type_name, traceback = describe_failure(cause)
    error = TaskError(reason, key, type_name, traceback,
                      failed_call_text(key, reason, type_name))
    error.__cause__ = cause
    return error


def timed_out_error(key, attempts, outcome):
    """The TaskTimedout of a call whose ``attempts`` attempts all timed out."""
    return TaskTimedout('%s timed out on all %d attempts: %s'
                        % (call_id(key), attempts, outcome.reason), key)


def cancelled_error(key, outcome):
    """The TaskCancelled of attempt ``key``, cancelled as ``outcome`` records."""
    return TaskCancelled(outcome.reason, key)


def copied_error(source, key):
    """The result of call ``key``, not made because an argument (``source``) failed."""
    return TaskResult.failed(source.error, source.order, key)


def reason_of(exc):
    """The reason a run or call fails with when ``exc`` was raised.

    An ordinary exception gives its message; anything else a body can raise
    (``SystemExit``, ``GeneratorExit``) is named, since its message alone (``3``)
    says nothing.
    """
    if isinstance(exc, Exception):
        return exception_text(exc)
    return exception_line(exc)
