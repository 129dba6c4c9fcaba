"""What a body does besides calling tasks: timers, signals, recorded values, cancelling.

Each is keyed like a task call (``@sleep-0``, ``@signal-approve-0``, ``@marker-0``,
``@now-0``), so a replay finds it in the history and the cached driver resolves it as
its outcome arrives; :class:`Effects` is the part of a driver activation that makes
them.  Timers, markers and cancellations take a task-call position, as calls do, and a
body that moves them between replays is reported as non-deterministic.  Signals are not
decided by the body, so they take none: the n-th ``wait_signal(name)`` receives the
n-th signal of that name to arrive.
"""

import datetime
import time

from ..decision import CancelCall, RecordMarker, StartTimer
from ..errors import UsageError
from ..history import BUILTIN, CANCELLED, COMPLETED, FAILED, call_id, signal_key
from ..result import PENDING, TaskResult, check_own
from .calls import Call, cancelled_error, failed_error, reason_of

__all__ = ['Effects', 'TIMER', 'SIGNAL', 'MARKER', 'NOW']

TIMER = BUILTIN + 'sleep'
SIGNAL = BUILTIN + 'signal'
MARKER = BUILTIN + 'marker'
NOW = BUILTIN + 'now'


class _BuiltinSpec:
    """Stands in for a TaskSpec where a timer or a signal wait is carried as a Call."""

    __slots__ = ('dep', 'transport', 'retry', 'retry_failures', 'kind')

    def __init__(self, dep, transport):
        self.dep = dep
        self.kind = dep
        self.transport = transport
        self.retry = (0,)
        self.retry_failures = False


class _NoValue:
    """A timer's transport: whatever the engine recorded, the timer's value is None."""

    @staticmethod
    def loads(data):
        return None


class Effects:
    """Timers, signals, markers, ``now()``, ``cancel()`` and ``context()`` of an activation.

    Mixed into :class:`~flowy.drivers.replay.Execution`, whose counters, history and
    decision it shares.
    """

    def _builtin(self, kind):
        """The key, number and position of the next effect of ``kind`` the body makes."""
        if self._reducer is not None:
            self._refuse_call_in_reducer('flowy.%s()' % kind[1:])
        number = self._numbers.get(kind, 0)
        self._numbers[kind] = number + 1
        position = self._next_position
        self._next_position = position + 1
        return '%s-%d' % (kind, number), number, position

    def _wait_for_room(self):
        """Return once the decision has room for one more command (its ``limit``).

        Replay stops the body here; the cached driver parks it until a later decision,
        with the outcomes that arrived meanwhile applied: whatever the command depends
        on must be looked at after this, as a replay of that later decision would.
        """
        while self.limit is not None and self.limiting and len(self.calls) >= self.limit:
            self.over_limit()

    def _recorded(self, key, position):
        """The outcome of effect ``key`` made at ``position``, after checking its place."""
        outcome = self._outcomes.get(key)
        if outcome is None:
            if position in self._calls_at:
                self._check_new_call(key, position)
        elif outcome.position != position and outcome.position is not None:
            self._moved(key, position, outcome.position)
        return outcome

    def _waiter(self, kind, key, number, position):
        """A pending result for ``key``, which the cached driver resolves on arrival."""
        result = TaskResult(key, self)
        transport = _NoValue if kind is TIMER else self.config.transport
        call = Call(result, _BuiltinSpec(kind, transport), number, 0, position, (), {})
        call.key = key
        self.started(call)
        return result

    # -- what flowy.sleep, wait_signal, marker, now, cancel and context ask --------------

    def timer(self, seconds):
        """The result of ``sleep(seconds)``: None once the timer fires."""
        key, number, position = self._builtin(TIMER)
        outcome = self._recorded(key, position)
        if outcome is None:
            result = TaskResult(key, self)
            if self.suspended:
                return result.proxy  # past a point replay stops at: start nothing
            self._wait_for_room()
            self.calls.append(StartTimer(key, position, seconds))
            return self._waiter(TIMER, key, number, position).proxy
        if outcome.state is COMPLETED:
            return TaskResult.finished(None, outcome.order, key).proxy
        if outcome.state is CANCELLED:
            return TaskResult.failed(cancelled_error(key, outcome), outcome.order, key).proxy
        if outcome.state is FAILED:  # an engine could not start it (SWF: StartTimerFailed)
            return TaskResult.failed(failed_error(key, outcome), outcome.order, key).proxy
        return self._waiter(TIMER, key, number, position).proxy

    def signal(self, name):
        """The result of ``wait_signal(name)``: the value of the next signal ``name``."""
        if self._reducer is not None:
            self._refuse_call_in_reducer('flowy.wait_signal()')
        numbers = self._signal_numbers
        number = numbers.get(name, 0)
        numbers[name] = number + 1
        key = signal_key(name, number)
        outcome = self._outcomes.get(key)
        if outcome is not None:
            return TaskResult.encoded(outcome.data, self.config.transport.loads,
                                      outcome.order, key).proxy
        return self._waiter(SIGNAL, key, number, None).proxy

    def record(self, kind, name, value):
        """Record ``value`` under the next ``kind`` key; return the value recorded.

        On replay the recorded value is returned, not ``value``: ``now()`` gives the
        time of the decision that first made the call, whenever it is replayed.
        """
        key, _, position = self._builtin(kind)
        outcome = self._recorded(key, position)
        loads = self.config.transport.loads
        if outcome is not None and outcome.state is COMPLETED:
            return loads(outcome.data)
        dumps = self.config.transport.dumps
        if kind is not NOW:
            try:
                data = self._encode(dumps, value)
            except Exception as exc:
                raise TypeError('cannot record the details of marker %r: %s'
                                % (name, reason_of(exc))) from exc
        if not self.suspended:
            self._wait_for_room()
        if kind is NOW:
            # Read after waiting for room: the time of the decision that records it.
            data = self._encode(dumps, self._clock())
        if not self.suspended:
            self.calls.append(RecordMarker(key, position, name, data))
        return loads(data)

    def _clock(self):
        """The time of the decision being made (seconds since the epoch)."""
        stamp = self.history.now
        return float(time.time() if stamp is None else stamp)

    def now(self):
        """The time of the decision that first reached this call, as an aware datetime."""
        recorded = self.record(NOW, 'now', None)
        return datetime.datetime.fromtimestamp(recorded, datetime.timezone.utc)

    def cancel(self, result):
        """Ask for the pending call, child workflow or timer of ``result`` to stop."""
        if self._reducer is not None:
            # A plain reducer runs where its inputs finish (in the cached driver, after
            # the body moved on): the position it took would differ between drivers.
            self._refuse_call_in_reducer('flowy.cancel()')
        position = self._next_position  # taken whatever the state: it may differ by replay
        self._next_position = position + 1
        if result.state is not PENDING:
            return
        check_own(result)
        key = result.key
        if key is None:
            self._misused(UsageError(
                'cancel() takes the result of a task call, a child workflow or sleep(); '
                'this one combines other results (first(), finish_order(), '
                'parallel_reduce()): cancel those instead'))
        if key.startswith(SIGNAL):
            self._misused(UsageError(
                'the wait for a signal (%s) cannot be cancelled: to give up waiting, '
                'race it with a timer, first(wait_signal(...), sleep(seconds))' % key))
        if self.suspended:
            return
        # Room is needed only while the result is pending: it may finish while the
        # cached driver waits for a later decision, and a replay of that decision finds
        # it finished, needing no room and cancelling nothing.
        while (result.state is PENDING and self.limit is not None and self.limiting
               and len(self.calls) >= self.limit):
            self.over_limit()
        if result.state is not PENDING:
            return
        self.calls.append(CancelCall(call_id(key), position))
        self.cancelling(key, position)

    def _misused(self, error):
        """Raise ``error``, a mistake that fails the run even if the body catches it.

        It depends on a result being pending, which a later replay may find finished:
        a body that went on after catching it would take another path on replay.
        """
        if self.misuse is None:
            self.misuse = error
        raise error

    def cancelling(self, key, position):
        """The body cancelled ``key``: a reactive driver stops it from starting later."""

    def context_ids(self):
        """``(workflow name, workflow id, run id)`` of the run this activation decides."""
        ids = self.history.ids or (None, None)
        return self.config.name, ids[0], ids[1]

