"""The cached driver: keep each workflow body alive between decisions.

Replaying a body from the top costs O(calls made so far) per decision, so a run of n
tasks costs O(n^2) in total.  This driver runs the body once, in a thread of its own,
and parks that thread where replay would stop.  Each decision then only feeds the new
outcomes to the results waiting for them (in finish order), lets the operations react,
and resumes the body if the value it waits for is now known.  A decision costs what
its news costs, whatever the length of the history.

The first decision of an instance is an ordinary replay against the history so far, so
an instance evicted from the bounded cache, or lost, is rebuilt exactly.  Both drivers
produce the same decisions for every history; the test suite checks that property on
random workflows and random completion orders.
"""

import heapq
import itertools
import threading
from collections import OrderedDict

from ..decision import CancelCall, Fail
from ..history import CANCELLED, COMPLETED, FAILED, call_id
from ..proxy import TaskProxy
from ..result import ERROR, PENDING, SuspendTask, activating
from .calls import (
    PendingValue,
    cancelled_error,
    failed_error,
    reason_of,
    snapshot,
    timed_out_error,
)
from .replay import Execution

__all__ = ['CachedDriver']


class _Evicted(SuspendTask):
    """Raised inside a parked body whose instance was dropped, so its thread ends."""


class _ReactiveExecution(Execution):
    """An execution whose pending results are resolved as outcomes arrive."""

    reactive = True

    def __init__(self, config, history, instance):
        super().__init__(config, history)
        self._instance = instance
        self._live = {}
        self._deferred = {}  # calls waiting for their arguments, by key
        self._cancelled = set()  # keys of deferred calls the body cancelled
        self._cancels = {}  # call id -> positions of the body's cancel() of that call
        self._after_step = []
        self._queued = itertools.count()

    def after_step(self, callback, created):
        """Call ``callback()`` once the current outcome and what it set off are applied.

        Callbacks run oldest operation first (``created`` orders them): an operation can
        only take results of older ones as inputs, so by the time one takes its news,
        every older one that could still add to them has taken its own.
        """
        heapq.heappush(self._after_step, (created, next(self._queued), callback))

    def _finish_step(self):
        pending = self._after_step
        while pending:
            heapq.heappop(pending)[2]()

    def wait_for(self, result):
        if self.encoding:
            raise PendingValue(result)
        return self._instance.park(result)

    def over_limit(self):
        # Only the body gets here (calls made by reacting operations are cut after
        # sorting, in decide()): it waits for the next decision, as replay stops.
        self._instance.park(None)

    def started(self, call):
        if call.attempt + 1 < len(call.spec.retry):  # it may start again: keep its arguments
            call.args, call.kwargs = snapshot((call.args, call.kwargs))
        self._live[call.key] = call

    def defer(self, call, pending):
        call.args, call.kwargs = snapshot((call.args, call.kwargs))
        result = call.result
        waiting = [len(pending)]
        self._deferred[call.key] = call

        def arrived(argument):
            if result.state is not PENDING or call.key in self._cancelled:
                return  # an earlier argument failed, or the body cancelled the call
            if argument.state is ERROR:
                self._deferred.pop(call.key, None)
                result.set_error(argument.error, argument.order)
                return
            waiting[0] -= 1
            if waiting[0] == 0:
                del self._deferred[call.key]
                self._start(call)

        for argument in pending:
            argument.on_finish(lambda argument=argument: arrived(argument))
        return result

    def cancelling(self, key, position):
        # A call still waiting for its arguments never starts: the engine records it
        # as cancelled, and that outcome resolves it, as a replay finds it.
        self._cancels.setdefault(call_id(key), []).append(position)
        call = self._deferred.pop(key, None)
        if call is not None:
            self._cancelled.add(key)
            self._live[key] = call

    def apply(self, keys):
        """Resolve the results of ``keys`` (outcomes in finish order) and let them react."""
        outcomes = self._outcomes
        for key in keys:
            call = self._live.pop(key, None)
            if call is None:
                continue
            outcome = outcomes[key]
            if outcome.state is COMPLETED:
                call.result.set_encoded(outcome.data, call.spec.transport.loads, outcome.order)
            else:
                self._resolve_failure(call, outcome)
            if self._after_step:
                self._finish_step()

    def _resolve_failure(self, call, outcome):
        """``call`` failed or timed out: fail its result, or start its next attempt."""
        result, spec = call.result, call.spec
        if outcome.state is CANCELLED:
            result.set_error(cancelled_error(call.key, outcome), outcome.order)
        elif call.last_attempt or (outcome.state is FAILED and not spec.retry_failures):
            if outcome.state is FAILED:
                result.set_error(failed_error(call.key, outcome), outcome.order)
            else:
                result.set_error(timed_out_error(call.key, call.attempt + 1, outcome),
                                 outcome.order)
        else:
            self._start(call.next_attempt())
            target = call_id(call.key)
            if target in self._cancels and result.state is PENDING:
                # The body cancelled the call, but this attempt failed before the engine
                # recorded that (it found nothing to cancel): a replay reaching each
                # cancel() again finds the call pending, and cancels the next attempt.
                for position in self._cancels[target]:
                    self.calls.append(CancelCall(target, position))

    def take_calls(self):
        return sorted(self.calls, key=_position)


def _position(call):
    return call.position


class _Instance:
    """A live workflow body, parked in its own thread between decisions."""

    def __init__(self, config, input_data, history):
        self.config = config
        self.input_data = input_data
        self.history = history
        self.execution = _ReactiveExecution(config, history, self)
        self.seen = 0
        self.started = False
        self.closed = False
        self.blocked_on = None
        self.finished = False
        self.value = None
        self.error = None
        self._to_body = threading.Semaphore(0)
        self._to_driver = threading.Semaphore(0)
        self._thread = threading.Thread(target=self._main, daemon=True,
                                        name='flowy-body-%s' % config.name)

    # -- the body thread ------------------------------------------------------------

    def _main(self):
        execution = self.execution
        proxies = {dep: TaskProxy(execution, spec) for dep, spec in self.config.specs.items()}
        try:
            try:
                args, kwargs = self.config._decode_input(self.input_data)
            except Exception as exc:
                raise _InputError('cannot decode the workflow input: %s'
                                  % reason_of(exc)) from exc
            with activating(execution):
                body = self.config.factory(**proxies)
                self.value = body(*args, **kwargs)
        except BaseException as exc:  # decided by the driver thread, see _outcome()
            self.error = exc
        self.finished = True
        self._to_driver.release()

    def park(self, result):
        """In the body thread: wait until ``result`` is known, and return its value.

        ``result`` None: wait for the next decision (this one is full of calls).
        """
        if self.closed:
            raise _Evicted()
        self.blocked_on = result
        self._to_driver.release()
        self._to_body.acquire()
        if self.closed:
            raise _Evicted()
        return None if result is None else result.get()

    # -- the driver side ----------------------------------------------------------------

    def _resume(self):
        execution = self.execution
        execution.limiting = True
        if self.started:
            self._to_body.release()
        else:
            self.started = True
            self._thread.start()
        self._to_driver.acquire()
        execution.limiting = False

    def decide(self, limit=None):
        """The next decision: at most ``limit`` calls, in call order, as replay makes.

        Calls that reacting operations made beyond the limit wait for the next
        decision, and so does the body: replay would stop at the first of them.
        """
        execution = self.execution
        execution.limit = limit
        if not self.started:
            self.seen = self.history.finished
            self._resume()
            held = []
        else:
            news = self.history.finished_since(self.seen)
            self.seen += len(news)
            with activating(execution):  # plain reducers run here: they see this run
                execution.apply(news)
            calls = execution.take_calls()
            held = calls[limit:] if limit is not None else []
            execution.calls = calls[:limit] if held else calls
            if not held and not self.finished and (
                    self.blocked_on is None or self.blocked_on.state is not PENDING):
                self._resume()
        execution.more = bool(held) or (not self.finished and self.blocked_on is None)
        execution.waiting_on = None if self.finished else self.blocked_on
        try:
            return self._outcome(held)
        finally:
            execution.calls = held

    def _outcome(self, held):
        execution = self.execution
        if not self.finished or held:
            return execution.decide(None)
        if self.error is not None:
            if isinstance(self.error, KeyboardInterrupt):
                raise KeyboardInterrupt from self.error  # as replay lets it through
            if type(self.error) is _InputError:
                return execution.decide(Fail(str(self.error), self.error.__cause__))
            return execution.raised(self.error)
        return execution.returned(self.value)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.started and not self.finished:
            self._to_body.release()


class _InputError(Exception):
    pass


class CachedDriver:
    """Decide with live workflow instances, replaying only to (re)build one.

    Call it like the replay driver: ``driver(config, input_data, history)``.  Instances
    are keyed by their history; at most ``capacity`` stay alive, the least recently used
    is dropped first and rebuilt by a full replay if its run needs a decision again.
    Call :meth:`forget` when a run ends.
    """

    def __init__(self, capacity=256):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError('capacity must be an integer greater than 0; got %r' % (capacity,))
        self.capacity = capacity
        self._instances = OrderedDict()
        self._lock = threading.Lock()
        self.rebuilds = 0

    def __call__(self, config, input_data, history, limit=None):
        key = id(history)
        with self._lock:
            instance = self._instances.get(key)
            if instance is not None and (instance.history is not history
                                         or instance.config is not config
                                         or instance.input_data != input_data):
                instance.close()
                instance = None
            if instance is None:
                instance = _Instance(config, input_data, history)
                self.rebuilds += 1
                self._instances[key] = instance
                self._evict()
            else:
                self._instances.move_to_end(key)
        try:
            decision = instance.decide(limit)
        except BaseException:
            self.forget(history)
            raise
        if decision.outcome is not None:
            self.forget(history)
        return decision

    def _evict(self):
        while len(self._instances) > self.capacity:
            _, instance = self._instances.popitem(last=False)
            instance.close()

    def forget(self, history):
        """Drop the instance of ``history``'s run (it ended, or will be replayed)."""
        with self._lock:
            instance = self._instances.pop(id(history), None)
        if instance is not None:
            instance.close()

    def close(self):
        """Drop every instance."""
        with self._lock:
            instances = list(self._instances.values())
            self._instances.clear()
        for instance in instances:
            instance.close()

    def __len__(self):
        return len(self._instances)
