"""One activation of a workflow body against a history, and the replay driver.

The replay driver is the reference semantics: build the workflow from its factory, run
the body from the top against the whole history, and stop at the first value that is not
known yet.  Everything the body called before that point and that is ready to start goes
into the :class:`~flowy.decision.Decision`, in call order.
"""

from ..decision import Decision, Fail, FailCall, Finish, Restart, ScheduleCall
from ..errors import NondeterminismError, TaskError, TaskTimedout
from ..history import COMPLETED, FAILED, TIMEDOUT, call_id
from ..operations import RestartRequest
from ..proxy import TaskProxy
from ..result import ERROR, PENDING, VALUE, ResultProxy, SuspendTask, TaskResult

__all__ = ['Execution', 'replay']

_PLAIN = frozenset([int, str, float, bool, type(None), bytes])

_DETERMINISM_HINT = ('a workflow must make the same task calls in the same order every '
                     'time it runs: do not branch on clocks, random numbers or outside state')


class _Scan:
    """What a walk over call arguments found: finished, failed and pending results."""

    __slots__ = ('error', 'pending', 'deps')

    def __init__(self):
        self.error = None
        self.pending = None
        self.deps = []

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


def scan_call(args, kwargs):
    """``scan`` for the arguments of a call: (args copy, kwargs copy, scan)."""
    found = _Scan()
    substitute = found.substitute
    try:
        plain_args = [item if type(item) in _PLAIN else substitute(item) for item in args]
        plain_kwargs = {key: substitute(value) for key, value in kwargs.items()}
    except RecursionError:
        raise ValueError('the value is nested too deeply, or contains itself') from None
    return plain_args, plain_kwargs, found


def scan(value):
    """Walk ``value`` (nested lists, tuples, dicts, sets) and return (copy, scan)."""
    found = _Scan()
    try:
        copy = found.substitute(value)
    except RecursionError:
        raise ValueError('the value is nested too deeply, or contains itself') from None
    return copy, found


def _reason(exc):
    text = str(exc)
    return text if text else type(exc).__name__


class Execution:
    """The state of one activation: call counters, positions, and what to decide.

    Task proxies call :meth:`call`; results ask :meth:`wait_for` when the body uses a
    value that is not known yet.  A replay stops there.
    """

    reactive = False

    def __init__(self, config, history, limit=None):
        self.config = config
        self.history = history
        self._outcomes = history._outcomes
        self._calls_at = history._calls_at
        self.calls = []
        self.suspended = False
        self.waiting_on = None
        self.limit = limit
        self.limiting = True
        self.more = False
        self.nondeterminism = None
        self._next_position = 0
        self._numbers = dict.fromkeys(config.specs, 0)
        self._reducer = None

    # -- what results and operations ask of the execution -----------------------------

    def wait_for(self, result):
        self.suspended = True
        if self.waiting_on is None:
            self.waiting_on = result
        raise SuspendTask()

    def reserve(self, spec, count):
        """Reserve ``count`` consecutive call numbers and positions for one operation.

        ``parallel_reduce`` makes its calls as its inputs finish; reserving their numbers
        where the body called it keeps every key the same whatever order results arrive.
        """
        number = self._numbers[spec.dep]
        position = self._next_position
        self._numbers[spec.dep] = number + count
        self._next_position = position + count
        return number, position

    def check_not_reducing(self, spec):
        if self._reducer is not None:
            raise TypeError(
                'the reducer %r given to parallel_reduce() called the task %r; pass the task '
                'itself as the reducer, or reduce with a function of plain values'
                % (self._reducer, spec.dep))

    def reducing(self, reducer):
        self._reducer = reducer

    # -- task calls ---------------------------------------------------------------

    def call(self, spec, args, kwargs):
        if self._reducer is not None:
            self.check_not_reducing(spec)
        number = self._numbers[spec.dep]
        self._numbers[spec.dep] = number + 1
        position = self._next_position
        self._next_position = position + 1
        return ResultProxy(self.call_at(spec, number, position, args, kwargs))

    def call_at(self, spec, number, position, args, kwargs):
        """The result of call ``number`` of ``spec`` made at ``position``."""
        outcomes = self._outcomes
        key = f'{spec.dep}-{number}-0'
        outcome = outcomes.get(key)
        if outcome is None:
            if position in self._calls_at:
                self._check_new_call(key, position)
            return self._start(TaskResult(key, self), spec, key, number, 0, position, args,
                               kwargs)
        if outcome.position != position and outcome.position is not None:
            self._moved(key, position, outcome.position)
        attempt = 0
        while outcome.state is TIMEDOUT or (outcome.state is FAILED and spec.retry_failures):
            attempt += 1
            if attempt == len(spec.retry):
                if outcome.state is FAILED:
                    break  # out of attempts: the last failure is the call's error
                return TaskResult.failed(_timed_out(key, attempt, outcome), outcome.order, key)
            key = f'{spec.dep}-{number}-{attempt}'
            next_outcome = outcomes.get(key)
            if next_outcome is None:
                return self._start(TaskResult(key, self), spec, key, number, attempt, position,
                                   args, kwargs)
            outcome = next_outcome
        result = TaskResult(key, self)
        state = outcome.state
        if state is COMPLETED:
            result.state, result._data, result._loads = VALUE, outcome.data, spec.transport.loads
            result.order = outcome.order
        elif state is FAILED:
            result.state, result.error, result.order = ERROR, _failed(key, outcome), outcome.order
        else:
            self.started(key, result, spec, number, attempt, position, args, kwargs)
        return result

    def _start(self, result, spec, key, number, attempt, position, args, kwargs):
        """Start attempt ``attempt`` of a call now, or decide why it cannot start."""
        if self.suspended:
            return result  # the body is past a point replay stops at; start nothing
        plain_args, plain_kwargs, found = scan_call(args, kwargs)
        if found.error is not None:
            return _copy_error(found.error, key)
        if found.pending is not None:
            return self.defer(result, spec, key, number, attempt, position, args, kwargs,
                              found.pending)
        while self.limit is not None and self.limiting and len(self.calls) >= self.limit:
            self.over_limit()  # returns once a later decision has room for this call
        try:
            data = spec.transport.dumps([plain_args, plain_kwargs])
        except Exception as exc:
            self.calls.append(FailCall(
                key, spec.dep, position, 'cannot serialize the input of %s: %s'
                % (key, _reason(exc)), exc))
        else:
            self.calls.append(ScheduleCall(key, spec.dep, number, attempt, position, data,
                                           tuple(dict.fromkeys(found.deps)),
                                           spec.retry[attempt]))
        self.started(key, result, spec, number, attempt, position, args, kwargs)
        return result

    def defer(self, result, spec, key, number, attempt, position, args, kwargs, pending):
        """A call whose arguments are not all known: under replay it simply waits."""
        return result

    def over_limit(self):
        """The decision holds ``limit`` calls: this one waits for the next decision.

        Replay stops the body here, as if it waited for a value; the next decision
        replays it up to the next ``limit`` new calls.
        """
        self.suspended = self.more = True
        raise SuspendTask()

    def started(self, key, result, spec, number, attempt, position, args, kwargs):
        """Attempt ``key`` was started (now or earlier) and its outcome is not known.

        Replay learns outcomes from the history; a driver that keeps the body alive
        remembers the call here to resolve ``result`` when the outcome arrives.
        """

    def _moved(self, key, position, recorded):
        self._nondeterministic(
            'the call %s was made as task call #%d, but the history recorded it as '
            'call #%d; %s' % (call_id(key), position, recorded, _DETERMINISM_HINT))

    def _check_new_call(self, key, position):
        recorded = self.history.call_at(position)
        if recorded is not None and recorded != call_id(key):
            self._nondeterministic(
                'task call #%d is %s, but the history recorded %s there; %s'
                % (position, call_id(key), recorded, _DETERMINISM_HINT))

    def _nondeterministic(self, message):
        error = NondeterminismError(message)
        if self.nondeterminism is None:
            self.nondeterminism = error
        raise error

    def check_all_replayed(self):
        """After the body returned: every call the history recorded was made again.

        Calls of one dependency are numbered in order, so the call ``dep-n`` was made in
        this activation exactly when fewer than ``n + 1`` calls of ``dep`` were counted.
        """
        if self.nondeterminism is not None:
            return
        numbers = self._numbers
        for position, recorded in self.history.positions():
            dep, _, number = recorded.rpartition('-')
            if int(number) >= numbers.get(dep, 0):
                self.nondeterminism = NondeterminismError(
                    'the workflow finished without making the call %s that its history '
                    'recorded as task call #%d; %s' % (recorded, position, _DETERMINISM_HINT))
                return

    # -- the outcome of the activation ------------------------------------------------

    def decide(self, outcome):
        if self.nondeterminism is not None:
            return Decision(outcome=Fail('non-deterministic workflow: %s' % self.nondeterminism,
                                         self.nondeterminism))
        return Decision(self.calls, outcome, self.more, _waited_for(self.waiting_on))

    def returned(self, value):
        """The decision once the body returned ``value`` (or a restart request)."""
        if self.suspended:
            return self.decide(None)  # a bare except: swallowed a suspension
        restarting = type(value) is RestartRequest
        what = 'restart input' if restarting else 'result'
        try:
            payload, found = scan((value.args, value.kwargs) if restarting else value)
            if found.error is None and found.pending is not None:
                return self.decide(None)
            self.check_all_replayed()
            if found.error is not None:
                error = found.error.error
                return self.decide(Fail(error.reason, error))
            if restarting:
                return self.decide(Restart(self.config.encode_input(*payload)))
            return self.decide(Finish(self.config.transport.dumps(payload)))
        except Exception as exc:
            return self.decide(Fail('cannot serialize the workflow %s: %s'
                                    % (what, _reason(exc)), exc))

    def raised(self, exc):
        """The decision once the body (or its factory) raised ``exc``."""
        if isinstance(exc, SuspendTask) or self.suspended:
            return self.decide(None)
        if isinstance(exc, NondeterminismError):
            return self.decide(None)  # decide() reports it
        self.check_all_replayed()
        return self.decide(Fail(_reason(exc), exc))


def _waited_for(result):
    if result is None:
        return None
    if result.key is not None:
        return result.key
    return 'a result combined by first(), finish_order() or parallel_reduce()'


def _failed(key, outcome):
    error = TaskError(outcome.reason, key)
    error.__cause__ = outcome.cause
    return error


def _timed_out(key, attempts, outcome):
    return TaskTimedout('%s timed out on all %d attempts: %s'
                        % (call_id(key), attempts, outcome.reason), key)


def _copy_error(source, key):
    """The result of a call that was not made because an argument had failed."""
    return TaskResult.failed(source.error, source.order, key)


def replay(config, input_data, history, limit=None):
    """Run the workflow of ``config`` from the top against ``history``; return a Decision.

    At most ``limit`` calls are started per decision (None: no limit).  Never raises for
    anything the workflow does: its errors become a failing decision.
    """
    execution = Execution(config, history, limit)
    proxies = {dep: TaskProxy(execution, spec) for dep, spec in config.specs.items()}
    try:
        try:
            args, kwargs = config.decode_input(input_data)
        except Exception as exc:
            return execution.decide(Fail('cannot decode the workflow input: %s'
                                         % _reason(exc), exc))
        body = config.factory(**proxies)
        value = body(*args, **kwargs)
    except (SuspendTask, Exception) as exc:
        return execution.raised(exc)
    return execution.returned(value)
