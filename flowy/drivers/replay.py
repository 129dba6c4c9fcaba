"""One activation of a workflow body against a history, and the replay driver.

The replay driver is the reference semantics: build the workflow from its factory, run
the body from the top against the whole history, and stop at the first value that is not
known yet.  Everything the body called before that point and that is ready to start goes
into the :class:`~flowy.decision.Decision`, in call order.

:class:`Execution` is the :class:`~flowy.result.Resolver` of one such activation; the
cached driver extends it into one that outlives a decision.
"""

from ..decision import Decision, Fail, FailCall, Finish, Restart, ScheduleCall
from ..errors import NondeterminismError, TaskError
from ..history import CANCELLED, COMPLETED, FAILED, TIMEDOUT, call_id
from ..operations import RestartRequest, TaskInReducer
from ..proxy import TaskProxy
from ..result import ERROR, VALUE, ResultProxy, SuspendTask, TaskResult, activating
from .calls import (
    Call,
    PendingValue,
    cancelled_error,
    copied_error,
    failed_error,
    reason_of,
    scan,
    scan_call,
    timed_out_error,
)
from .effects import Effects

__all__ = ['Execution', 'replay']

_DETERMINISM_HINT = ('a workflow must make the same task calls in the same order every '
                     'time it runs: do not branch on clocks, random numbers or outside state')


class Execution(Effects):
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
        self.misuse = None
        self.encoding = False
        self._next_position = 0
        self._numbers = dict.fromkeys(config.specs, 0)
        self._signal_numbers = {}
        self._reducer = None

    # -- the Resolver protocol: what results and operations ask -------------------------

    def wait_for(self, result):
        if self.encoding:
            raise PendingValue(result)
        self.suspended = True
        if self.waiting_on is None:
            self.waiting_on = result
        raise SuspendTask()

    def after_step(self, callback, created):
        raise AssertionError('only a reactive resolver takes finish callbacks')

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

    def reducing(self, reducer):
        self._reducer = reducer

    # -- task calls ---------------------------------------------------------------

    def call(self, spec, args, kwargs):
        if self._reducer is not None:
            self._refuse_call_in_reducer('the task %r' % spec.dep)
        number = self._numbers[spec.dep]
        self._numbers[spec.dep] = number + 1
        position = self._next_position
        self._next_position = position + 1
        return ResultProxy(self.call_at(spec, number, position, args, kwargs))

    def _refuse_call_in_reducer(self, what):
        # A usage mistake, not a task failure: the run fails with it on either driver,
        # whether or not the body catches it, so both decide alike.  ``what`` names the
        # call: "the task 'add'", or an operation such as "flowy.sleep()".
        reducer = getattr(self._reducer, '__qualname__', None) or type(self._reducer).__name__
        error = TaskInReducer(
            'the reducer %s given to parallel_reduce() called %s; pass the task '
            'itself as the reducer, or reduce with a function of plain values'
            % (reducer, what))
        if self.misuse is None:
            self.misuse = error
        raise error

    def call_at(self, spec, number, position, args, kwargs):
        """The result of call ``number`` of ``spec`` made at ``position``."""
        outcomes = self._outcomes
        key = f'{spec.dep}-{number}-0'
        outcome = outcomes.get(key)
        if outcome is None:
            if position in self._calls_at:
                self._check_new_call(key, position)
            return self._start(Call(TaskResult(key, self), spec, number, 0, position, args,
                                    kwargs))
        if outcome.position != position and outcome.position is not None:
            self._moved(key, position, outcome.position)
        attempt = 0
        while outcome.state is TIMEDOUT or (outcome.state is FAILED and spec.retry_failures):
            attempt += 1
            if attempt == len(spec.retry):
                if outcome.state is FAILED:
                    break  # out of attempts: the last failure is the call's error
                return TaskResult.failed(timed_out_error(key, attempt, outcome),
                                         outcome.order, key)
            key = f'{spec.dep}-{number}-{attempt}'
            next_outcome = outcomes.get(key)
            if next_outcome is None:
                return self._start(Call(TaskResult(key, self), spec, number, attempt,
                                        position, args, kwargs))
            outcome = next_outcome
        result = TaskResult(key, self)
        state = outcome.state
        if state is COMPLETED:
            result.state, result._data, result._loads = VALUE, outcome.data, spec.transport.loads
            result.order = outcome.order
        elif state is FAILED:
            result.state, result.error = ERROR, failed_error(key, outcome)
            result.order = outcome.order
        elif state is CANCELLED:
            result.state, result.error = ERROR, cancelled_error(key, outcome)
            result.order = outcome.order
        else:
            self.started(Call(result, spec, number, attempt, position, args, kwargs))
        return result

    def _start(self, call):
        """Start ``call`` now, or decide why it cannot start; return its result."""
        result = call.result
        if self.suspended:
            return result  # the body is past a point replay stops at; start nothing
        plain_args, plain_kwargs, found = scan_call(call.args, call.kwargs, self)
        if found.error is not None:
            return copied_error(found.error, call.key)
        if found.pending is not None:
            return self.defer(call, found.pending)
        while self.limit is not None and self.limiting and len(self.calls) >= self.limit:
            self.over_limit()  # returns once a later decision has room for this call
        self.encoding = True  # inline _encode(): this is the path of every call
        try:
            data = call.spec.transport.dumps([plain_args, plain_kwargs])
        except Exception as exc:
            reason = 'cannot serialize the input of %s: %s' % (call.key, reason_of(exc))
            # The call failed before it ran: no task raised, so the error names no type
            # (as on SWF, which records only the reason), only the encoding's traceback.
            cause = TaskError(reason, call.key, None, exc)
            cause.__cause__ = exc
            self.calls.append(FailCall(call.key, call.spec.dep, call.position, reason, cause))
        else:
            self.calls.append(ScheduleCall(call.key, call.spec.dep, call.number, call.attempt,
                                           call.position, data,
                                           tuple(dict.fromkeys(found.deps)),
                                           call.spec.retry[call.attempt]))
        finally:
            self.encoding = False
        self.started(call)
        return result

    def _encode(self, encoder, *args):
        """``encoder(*args)``, where a pending result inside cannot be waited on."""
        self.encoding = True
        try:
            return encoder(*args)
        finally:
            self.encoding = False

    def defer(self, call, pending):
        """A call whose arguments are not all known: under replay it simply waits."""
        return call.result

    def over_limit(self):
        """The decision holds ``limit`` calls: this one waits for the next decision.

        Replay stops the body here, as if it waited for a value; the next decision
        replays it up to the next ``limit`` new calls.
        """
        self.suspended = self.more = True
        raise SuspendTask()

    def started(self, call):
        """``call`` was started (now or earlier) and its outcome is not known.

        Replay learns outcomes from the history; a driver that keeps the body alive
        remembers the call here to resolve its result when the outcome arrives.
        """

    # -- determinism --------------------------------------------------------------------

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
        if self.misuse is not None:
            return Decision(outcome=Fail(reason_of(self.misuse), self.misuse))
        return Decision(self.calls, outcome, self.more, _waited_for(self.waiting_on))

    def returned(self, value):
        """The decision once the body returned ``value`` (or a restart request)."""
        if self.suspended:
            return self.decide(None)  # a bare except: swallowed a suspension
        restarting = type(value) is RestartRequest
        what = 'restart input' if restarting else 'result'
        try:
            payload, found = scan((value.args, value.kwargs) if restarting else value, self)
            if found.error is None and found.pending is not None:
                return self.decide(None)
            self.check_all_replayed()
            if found.error is not None:
                error = found.error.error
                return self.decide(Fail(reason_of(error), error))
            if restarting:
                return self.decide(Restart(self._encode(self.config._encode_input, *payload)))
            return self.decide(Finish(self._encode(self.config.transport.dumps, payload)))
        except Exception as exc:
            return self.decide(Fail('cannot serialize the workflow %s: %s'
                                    % (what, reason_of(exc)), exc))

    def raised(self, exc):
        """The decision once the body (or its factory) raised ``exc``.

        Every exception a body can raise fails the run, ``SystemExit`` included, on
        every driver; only ``KeyboardInterrupt`` is never given here (see :func:`replay`).
        """
        if isinstance(exc, SuspendTask) or self.suspended:
            return self.decide(None)
        if isinstance(exc, NondeterminismError):
            return self.decide(None)  # decide() reports it
        self.check_all_replayed()
        return self.decide(Fail(reason_of(exc), exc))


def _waited_for(result):
    if result is None:
        return None
    if result.key is not None:
        return result.key
    return 'a result combined by first(), finish_order() or parallel_reduce()'


def replay(config, input_data, history, limit=None):
    """Run the workflow of ``config`` from the top against ``history``; return a Decision.

    At most ``limit`` calls are started per decision (None: no limit).  Never raises for
    anything the workflow does: its errors, ``SystemExit`` among them, become a failing
    decision.  A ``KeyboardInterrupt`` is let through, so that Ctrl-C stops the program
    running the driver.
    """
    execution = Execution(config, history, limit)
    proxies = {dep: TaskProxy(execution, spec) for dep, spec in config.specs.items()}
    try:
        try:
            args, kwargs = config._decode_input(input_data)
        except Exception as exc:
            return execution.decide(Fail('cannot decode the workflow input: %s'
                                         % reason_of(exc), exc))
        with activating(execution):
            body = config.factory(**proxies)
            value = body(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return execution.raised(exc)
    return execution.returned(value)
