"""Operations over task results: ``wait``, ``first``, ``finish_order``, ``parallel_reduce``,
and ``restart``, which a body returns to start over.

Each is written once, over :class:`~flowy.result.TaskResult`, and works on plain values
too, so a workflow runs unchanged as ordinary Python.  Their answers depend only on the
order in which results finished: a driver that replays from the top and one that keeps
the body alive and feeds it new results one by one reach the same calls.
"""

import heapq
import itertools
from functools import partial

from .errors import TaskError, UsageError, exception_text
from .proxy import TaskProxy
from .result import ERROR, PENDING, ResultProxy, TaskResult, check_own, result_of

__all__ = ['wait', 'first', 'finish_order', 'parallel_reduce', 'restart', 'RestartRequest',
           'TaskInReducer']


# Operations that react to their inputs are numbered in the order they are created.
_CREATED = itertools.count()


def wait(value):
    """Return the value of ``value`` once it is known: raise its error if it failed.

    A plain value is returned as it is; a result gives its value itself, not a lazy
    result, so identity tests work on it (``wait(first(answer, sleep(60))) is None``:
    the timer won).  Inside a workflow, waiting on a result that is not finished
    suspends the body until it is.
    """
    if type(value) is ResultProxy:
        return value.__factory__.get()
    return value


def _items(args):
    # first(a, b) and first([a, b]) both work; a single result is never iterated.
    if len(args) == 1:
        only = args[0]
        if (type(only) is not ResultProxy and not isinstance(only, (str, bytes))
                and hasattr(type(only), '__iter__')):
            return list(only)
    return list(args)


def first(*results):
    """The result that finished first, among ``first(a, b, ...)`` or ``first(results)``.

    A plain value counts as already finished, so the first plain value in argument order
    wins.  A result that failed can be first; using it raises its error.  If none has
    finished yet, the answer is a result that resolves to whichever finishes first.
    """
    items = _items(results)
    if not items:
        raise ValueError('first() needs at least one result')
    best, best_order, pending = None, None, []
    for item in items:
        result = result_of(item)
        if result is None:
            return item
        if result.state is PENDING:
            check_own(result)
            pending.append(result)
        elif best is None or result.order < best_order:
            best, best_order = item, result.order
    if best is not None:
        return best
    return _FinishSequence(pending).slot(0).proxy


def finish_order(*results):
    """Iterate over results in the order they finished.

    Plain values come first, in argument order; then finished results by finish order;
    then one result per unfinished input, each resolving to the next one to finish.
    """
    items = _items(results)
    plain, done, pending = [], [], []
    for item in items:
        result = result_of(item)
        if result is None:
            plain.append(item)
        elif result.state is PENDING:
            check_own(result)
            pending.append(result)
        else:
            done.append((result.order, item))
    done.sort(key=_order_of)
    plain.extend(item for _, item in done)
    if pending:
        sequence = _FinishSequence(pending)
        plain.extend(sequence.slot(k).proxy for k in range(len(pending)))
    return iter(plain)


def _order_of(pair):
    return pair[0]


class _FinishSequence:
    """Results standing for 'the k-th of these to finish', resolved as they finish.

    Results that finish in the same step share a finish order; they are taken in
    argument order, as a replay of the body would, once the step is over.
    """

    __slots__ = ('_arrived', '_slots', '_resolver', '_news', '_created')

    def __init__(self, pending):
        self._created = next(_CREATED)
        self._arrived = 0
        self._slots = []
        self._news = []
        self._resolver = pending[0].resolver
        for index, result in enumerate(pending):
            result.on_finish(partial(self._arrive, index, result))

    def slot(self, k):
        while len(self._slots) <= k:
            self._slots.append(TaskResult(None, self._resolver))
        return self._slots[k]

    def _arrive(self, index, result):
        if not self._news:
            self._resolver.after_step(self._take_news, self._created)
        self._news.append((result.order, index, result))

    def _take_news(self):
        news, self._news = self._news, []
        news.sort(key=_order_and_index)
        for _, _, result in news:
            k = self._arrived
            self._arrived = k + 1
            if k < len(self._slots):
                self._slots[k].follow(result)


def _order_and_index(entry):
    return entry[0], entry[1]


def parallel_reduce(function, iterable):
    """Fold ``iterable`` with ``function``, combining any two results once both are ready.

    The reduction tree is shaped by finish order: whichever two values are ready first
    are combined first, so a slow input never holds up the others.  ``function`` is
    called exactly ``len(iterable) - 1`` times; it should be associative and commutative.
    It may be a task or a plain function of two values; with plain values and a plain
    function this is an ordinary reduce.  One element is returned as it is; an empty
    iterable raises ``ValueError``.  Works iteratively for any length.
    """
    items = list(iterable)
    if not items:
        raise ValueError('parallel_reduce() of an empty sequence: pass at least one element')
    if len(items) == 1:
        return items[0]
    return _Reduction(function, items).result


class _Reduction:
    """The state of one ``parallel_reduce``: inputs ready to pair, and pairings made.

    ``ready`` is a heap of (finish order, tie-break, item).  Plain values count as
    finished before any task (order -1); a value a plain reducer computed counts as
    finished when the later of its two inputs did.
    """

    def __init__(self, function, items):
        self.function = function
        self.pairings = 0
        self.total = len(items) - 1
        self.final = None
        self.result = None
        self.done = False
        self.news = []
        self.created = next(_CREATED)
        self.may_tie = False
        self.combining = False
        self.resolver = None
        self.execution = None
        if type(function) is TaskProxy:
            self.execution = function.resolver
            self.spec = function.spec
            self.number, self.position = self.execution.reserve(self.spec, self.total)
        ready = []
        for index, item in enumerate(items):
            if type(item) is ResultProxy:
                result = item.__factory__
                if result.state is PENDING:
                    check_own(result)
                    self._wait(item, result, index)
                    continue
                ready.append((result.order, index, item))
            else:
                ready.append((-1, index, item))
        heapq.heapify(ready)
        self.ready = ready
        self.tiebreak = itertools.count(len(items))
        self._combine()
        if self.result is None:
            self.final = TaskResult(None, self.resolver)
            self.result = self.final.proxy

    def _wait(self, item, result, tiebreak):
        self.resolver = result.resolver
        if result.key is None:
            self.may_tie = True  # it may finish with the order of another input
        result.on_finish(partial(self._arrive, item, result, tiebreak))

    def _arrive(self, item, result, tiebreak):
        if self.combining:
            # The body waits inside _combine (its decision was full): the input joins
            # the heap, and the body's loop pairs it when it goes on, as replay would.
            heapq.heappush(self.ready, (result.order, tiebreak, item))
            return
        if not self.may_tie:
            # Each input is a call of its own: no two finish in the same step.
            if not self.done:
                heapq.heappush(self.ready, (result.order, tiebreak, item))
                self._combine()
            return
        # Inputs finishing in the same step join the heap together, with the tie-break
        # a replay would give them, before any of them is paired.
        if not self.news:
            self.resolver.after_step(self._take_news, self.created)
        self.news.append((result.order, tiebreak, item))

    def _take_news(self):
        news, self.news = self.news, []
        if not self.done:
            for entry in news:
                heapq.heappush(self.ready, entry)
            if not self.combining:
                self._combine()

    def _combine(self):
        self.combining = True
        try:
            self._pair_ready()
        finally:
            self.combining = False

    def _pair_ready(self):
        ready, pop, push = self.ready, heapq.heappop, heapq.heappush
        execution, tiebreak = self.execution, self.tiebreak
        while ready:
            # Errors win over unfinished inputs: the first failed input to be ready (in
            # finish order) is the answer, whatever is still running.
            order, _, x = ready[0]
            if type(x) is ResultProxy and x.__factory__.state is ERROR:
                self._finish(x, order)
                return
            if len(ready) < 2:
                return
            pop(ready)
            order, _, y = ready[0]
            if type(y) is ResultProxy and y.__factory__.state is ERROR:
                self._finish(y, order)
                return
            pop(ready)
            k = self.pairings
            self.pairings = k + 1
            if execution is not None:
                result = execution.call_at(self.spec, self.number + k, self.position + k,
                                           (x, y), {})
                combined = ResultProxy(result)
            else:
                combined = _apply_plain(self.function, x, y)
                result = combined.__factory__ if type(combined) is ResultProxy else None
            if k + 1 == self.total:
                self._finish(combined, order)
                return
            if result is not None:
                if result.state is PENDING:
                    self._wait(combined, result, next(tiebreak))
                    continue
                order = result.order
            push(ready, (order, next(tiebreak), combined))

    def _finish(self, combined, plain_order):
        self.done = True
        self.ready = []
        if self.final is None:
            if plain_order >= 0 and type(combined) is not ResultProxy:
                # Computed from task results: it stays a result, finished when the
                # last of them did, so that first() and finish_order() can place it
                # the same way whenever they look at it.
                combined = TaskResult.finished(combined, plain_order).proxy
            else:
                last = result_of(combined)
                if last is not None and last.state is PENDING:
                    # The answer is a result combined from the inputs, as it is when
                    # they finish later (which a replay cannot tell): not the last
                    # call's own result, which cancel() would take.
                    derived = TaskResult(None, last.resolver)
                    derived.follow(last)
                    combined = derived.proxy
            self.result = combined
            return
        result = result_of(combined)
        if result is None:
            self.final.set_value(combined, plain_order)
        else:
            self.final.follow(result)


def _apply_plain(function, x, y):
    """``function(x, y)`` on values; an input error, or an exception, becomes the result."""
    rx, ry = result_of(x), result_of(y)
    if rx is None and ry is None:
        return function(x, y)
    errors = [r for r in (rx, ry) if r is not None and r.state is ERROR]
    if errors:
        return min(errors, key=_result_order).proxy
    execution = (rx if rx is not None else ry).resolver
    order = max(r.order for r in (rx, ry) if r is not None)
    try:
        value_x = x if rx is None else rx.get()
        value_y = y if ry is None else ry.get()
    except TaskError as exc:  # a result that could not be decoded
        return TaskResult.failed(exc, order).proxy
    if execution is not None:
        execution.reducing(function)
    try:
        return function(value_x, value_y)
    except TaskInReducer as exc:
        # A usage mistake: the resolver fails the run with it.  A replay raises it to
        # the body's call of parallel_reduce; a reactive resolver pairs inputs after
        # that call returned, so there the reduction fails quietly with it.
        if not execution.reactive:
            raise
        error = TaskError(str(exc))
        error.__cause__ = exc
        return TaskResult.failed(error, order).proxy
    except Exception as exc:
        error = TaskError('the reducer %r raised: %s' % (function, exception_text(exc)))
        error.__cause__ = exc
        return TaskResult.failed(error, order).proxy
    finally:
        if execution is not None:
            execution.reducing(None)


class TaskInReducer(UsageError):
    """A plain reducer given to :func:`parallel_reduce` called a task."""


def _result_order(result):
    return result.order


class RestartRequest:
    """Returned by :func:`restart`; ends this run and starts a fresh one with new input."""

    __slots__ = ('args', 'kwargs')

    def __init__(self, args, kwargs):
        self.args = args
        self.kwargs = kwargs

    def __repr__(self):
        return 'restart(*%r, **%r)' % (self.args, self.kwargs)


def restart(*args, **kwargs):
    """Return this from a workflow body to start over with a fresh history and new input.

    ``args`` and ``kwargs`` are the new run's arguments, as ``run()`` takes them.  They
    may hold task results; the restart waits for them, and fails the workflow if one of
    them failed.  On SWF this is a continue-as-new.
    """
    return RestartRequest(args, kwargs)
