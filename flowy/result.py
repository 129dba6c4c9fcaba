"""Task results: the state of one call, and the lazy proxy a workflow body holds.

A :class:`TaskResult` is engine-agnostic state: pending, finished with a value, or
finished with an error (a timeout is an error of type :class:`~flowy.TaskTimedout`),
plus the *finish order* that ``first``, ``finish_order`` and ``parallel_reduce`` are
decided by.  Drivers and engines create and resolve them; workflow code only ever sees
the :class:`ResultProxy` wrapped around one, which behaves like the value itself.
"""

import contextvars
from typing import Protocol

from lazy_object_proxy.cext import Proxy

from .errors import TaskError, UsageError
from .run_context import Binding

__all__ = ['PENDING', 'VALUE', 'ERROR', 'SuspendTask', 'Resolver', 'TaskResult',
           'ResultProxy', 'is_result', 'result_of', 'activating']

PENDING = 'pending'
VALUE = 'value'
ERROR = 'error'

_UNDECODED = object()


class SuspendTask(BaseException):
    """Internal: the body used a value that is not known yet, so this replay stops.

    It derives from BaseException so that ``except Exception:`` in a workflow body lets
    it through.  A bare ``except:`` would catch it; the replay driver notices that and
    still treats the run as suspended, so swallowing it changes nothing.
    """


class Resolver(Protocol):
    """The contract between pending results and the driver activation that resolves them.

    Every :class:`TaskResult` made inside a workflow body, and every task proxy the body
    holds, points at the resolver of the activation that made it (the replay driver's
    ``Execution``, or the cached driver's live one).  Results and the operations in
    :mod:`flowy.operations` reach the driver through these members only.
    """

    #: True if pending results are resolved while the body stays alive (the cached
    #: driver): only then are finish callbacks (:meth:`TaskResult.on_finish`) kept.
    reactive: bool

    def wait_for(self, result):
        """The body uses ``result``, still pending: return its value once it is known.

        A replay cannot wait: it raises :class:`SuspendTask`, and the activation ends.
        """

    def after_step(self, callback, created):
        """Reactive only: call ``callback()`` once the outcome being applied settles.

        Operations made earlier (smaller ``created``) are called back first.
        """

    def reserve(self, spec, count):
        """Reserve ``count`` call numbers of ``spec`` and task-call positions; return the
        first (number, position).  ``parallel_reduce`` calls a task reducer with them."""

    def call_at(self, spec, number, position, args, kwargs):
        """Make call ``number`` of ``spec`` at ``position``; return its TaskResult."""

    def reducing(self, reducer):
        """While a plain ``reducer`` runs (None after it), calling a task is a mistake."""


# The resolver of the body running in this thread or context, set by the drivers
# around a body so that a pending result of another run is refused, not waited on.
_active = contextvars.ContextVar('flowy_active_resolver', default=None)


class activating(Binding):
    """``with activating(resolver):`` code in the block runs as ``resolver``'s body."""

    __slots__ = ()
    variable = _active


def check_own(result):
    """Raise UsageError if the pending ``result`` belongs to another run than the body's."""
    active = _active.get()
    if active is not None and result.resolver is not active:
        raise UsageError(
            'the result of %s belongs to another workflow run, which is the only one that '
            'can finish it: a result can only be used by the run whose body made the call '
            '(pass plain values between runs instead)' % (result.key or 'an operation'))


class TaskResult:
    """The outcome of one task call (or of an operation over several), as it is known now.

    For engines, drivers and tests only; workflow code sees a :class:`ResultProxy`.
    ``order`` is the position of the outcome in the workflow's finish order; plain values
    that never crossed an engine have order -1.
    """

    __slots__ = ('key', 'state', 'order', 'error', '_value', '_data', '_loads',
                 'resolver', '_listeners')

    def __init__(self, key=None, resolver=None):
        self.key = key
        self.state = PENDING
        self.order = None
        self.error = None
        self._value = _UNDECODED
        self._data = None
        self._loads = None
        self.resolver = resolver
        self._listeners = None

    # -- construction helpers -------------------------------------------------------

    @classmethod
    def finished(cls, value, order=-1, key=None):
        result = cls(key)
        result.state, result._value, result.order = VALUE, value, order
        return result

    @classmethod
    def encoded(cls, data, loads, order, key=None):
        """A finished result whose value is decoded from ``data`` on first use."""
        result = cls(key)
        result.state, result._data, result._loads, result.order = VALUE, data, loads, order
        return result

    @classmethod
    def failed(cls, error, order, key=None):
        result = cls(key)
        result.state, result.error, result.order = ERROR, error, order
        return result

    # -- what the body sees ---------------------------------------------------------

    def get(self):
        """Return the value, raise the task's error, or wait until it is known."""
        if self.state is VALUE:
            value = self._value
            return self._decode() if value is _UNDECODED else value
        if self.state is ERROR:
            raise self.error._clone()
        resolver = self.resolver
        if resolver is None:
            raise SuspendTask()
        check_own(self)
        return resolver.wait_for(self)

    # The proxy calls its factory to get the value: the result itself is that factory.
    __call__ = get

    def _decode(self):
        try:
            self._value = self._loads(self._data)
        except Exception as exc:
            error = TaskError('cannot decode the result of %s: %s' % (self.key, exc), self.key)
            error.__cause__ = exc
            self.state, self.error = ERROR, error
            raise error._clone() from exc
        self._data = None
        return self._value

    @property
    def proxy(self):
        """A new proxy over this result (proxies are cheap; the state is shared)."""
        return ResultProxy(self)

    # -- resolution, for drivers ------------------------------------------------------

    def set_value(self, value, order):
        self.state, self._value, self.order = VALUE, value, order
        self._notify()

    def set_encoded(self, data, loads, order):
        self.state, self._data, self._loads, self.order = VALUE, data, loads, order
        self._notify()

    def set_error(self, error, order):
        self.state, self.error, self.order = ERROR, error, order
        self._notify()

    def follow(self, other):
        """Take ``other``'s outcome as this one's, now or when ``other`` finishes."""
        if other.state is PENDING:
            other.on_finish(lambda: self.follow(other))
            return
        self.key = other.key
        if other.state is VALUE:
            self.state, self._value, self._data, self._loads = (
                VALUE, other._value, other._data, other._loads)
            self.order = other.order
            self._notify()
        else:
            self.set_error(other.error, other.order)

    def on_finish(self, callback):
        """Call ``callback()`` when this pending result finishes.

        Only a driver that keeps the body alive between decisions (a *reactive* driver)
        ever resolves a pending result; under replay the history is fixed for the whole
        activation, so nothing is registered at all.
        """
        resolver = self.resolver
        if resolver is not None and resolver.reactive:
            if self._listeners is None:
                self._listeners = []
            self._listeners.append(callback)

    def _notify(self):
        listeners, self._listeners = self._listeners, None
        if listeners:
            for callback in listeners:
                callback()

    def __repr__(self):
        name = self.key or 'derived'
        if self.state is ERROR:
            return '<TaskResult %s>' % _failure(name, self.error)
        if self.state is PENDING:
            return '<TaskResult %s pending>' % name
        return '<TaskResult %s order=%s>' % (name, self.order)


class ResultProxy(Proxy):
    """A task's result as the workflow body sees it: it behaves like the value.

    Arithmetic, comparison, iteration, attribute access, ``isinstance`` and so on all act
    on the value.  Using a result that failed raises :class:`~flowy.TaskError`; using one
    that is not known yet suspends the body until it is.  ``repr()`` never raises.
    """

    __slots__ = ()

    def __repr__(self):
        result = self.__factory__
        if result.state is VALUE:
            try:
                return repr(result.get())
            except TaskError as exc:
                return '<result %s: %s>' % (result.key, exc)
        if result.state is ERROR:
            return '<result %s>' % _failure(result.key or 'derived', result.error)
        return '<result %s pending>' % (result.key or 'derived')

    def __reduce__(self):
        return _identity, (self.__wrapped__,)

    def __reduce_ex__(self, protocol):
        return self.__reduce__()


def _identity(value):
    return value


def is_result(value):
    """True if ``value`` is a task result proxy (never forces its evaluation)."""
    return type(value) is ResultProxy


def result_of(value):
    """The :class:`TaskResult` behind a proxy, or None for a plain value."""
    if type(value) is ResultProxy:
        return value.__factory__
    return None


def _failure(name, error):
    """``square-0-0 failed: ValueError: bad``, without naming the call twice."""
    text = str(error)
    if text.startswith(name + ' failed: '):
        return text
    return '%s failed: %s' % (name, text)
