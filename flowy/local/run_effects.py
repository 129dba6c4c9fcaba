"""Timers, markers, signals and cancellations of one local run (a part of :class:`Run`).

A timer is a timer of the engine's event loop (it holds no thread) whose firing is
recorded like a call's outcome.  A marker (or a value of ``now()``) is recorded at once.
A signal is recorded as it arrives, in arrival order.  A cancelled call is recorded as
cancelled at once and its work is stopped: a call queued or on a worker process is
dropped (the process is killed and replaced), a call on a thread sees its heartbeats
answer True and its late outcome is dropped, a child run ends with everything under it,
a timer is dropped.
"""

import time
from functools import partial

from .. import events
from ..config import WORKFLOW
from ..decision import CancelCall, Cancelled, RecordMarker, StartTimer
from ..drivers.effects import TIMER
from ..errors import TaskCancelled
from ..history import RUNNING, call_id, cancel_reason, is_builtin
from .observing import task_event

__all__ = ['RunEffects', 'cancelled_outcome']


def cancelled_outcome(reason):
    """The outcome of a run cancelled from outside, with ``reason``."""
    return Cancelled(reason, TaskCancelled(reason))


class RunEffects:
    """The part of a local run that carries out timers, markers, signals and cancels.

    Mixed into :class:`~flowy.local.run.Run`; ``timers`` maps the keys of running timers
    to the engine's Timer objects and ``cancelled`` holds the keys of cancelled calls
    whose late outcomes are dropped (both None until first needed).
    """

    def _carry_out(self, call):
        """Carry out a command other than a call to start; True if it brings news."""
        kind = type(call)
        if kind is StartTimer:
            self.history.scheduled(call.key, call.position)
            self._trace_scheduled(call.key, 'timer')
            task_event(events.task_scheduled, self, call.key, kind='timer')
            self._arm_timer(call.key, call.seconds)
            return False
        if kind is RecordMarker:
            self.history.scheduled(call.key, call.position)
            self.history.completed(call.key, call.details)
            self._trace_scheduled(call.key, 'marker')
            if self.engine.tracer is not None:
                self.engine.tracer.completed(self.id, call.key, call.details)
            return False
        if kind is CancelCall:
            return self._cancel_call(call.target)
        raise TypeError('unknown command %r' % (call,))

    def _save_effect(self, writer, call, cancelling):
        """Record command ``call`` with ``writer``, as :meth:`_carry_out` will apply it."""
        kind = type(call)
        if kind is StartTimer:
            writer.scheduled(call.key, TIMER, call.position, repr(call.seconds), (),
                             time.time() + call.seconds)
        elif kind is RecordMarker:
            writer.scheduled(call.key, call.key.rpartition('-')[0], call.position, call.name)
            writer.completed(call.key, call.details)
        else:
            key = self.history.to_cancel(call.target)
            if key is not None and key not in cancelling:
                cancelling.add(key)
                writer.cancelled(key, cancel_reason(key))

    def _trace_scheduled(self, key, kind):
        tracer = self.engine.tracer
        if tracer is not None:
            tracer.scheduled(self.id, key, key.rpartition('-')[0], kind, (), self.decisions)

    # -- timers -------------------------------------------------------------------------

    def _arm_timer(self, key, seconds):
        if self.timers is None:
            self.timers = {}
        self.timers[key] = self.engine.after(max(0.0, seconds), partial(self._fired, key))

    def _fired(self, key):
        self.timers.pop(key, None)
        self.arrived(key, 'null', None)

    def _resume_timer(self, call, now):
        """A stored timer that had not fired: it fires at its recorded due time."""
        self._trace_scheduled(call.key, 'timer')
        due = call.started if call.started is not None else now
        self._arm_timer(call.key, due - now)

    def _drop_timers(self):
        if self.timers:
            cancel = self.engine.cancel
            for timer in self.timers.values():
                cancel(timer)
            self.timers = None

    # -- signals ----------------------------------------------------------------------------

    def signalled(self, name, data, message=None):
        """A signal ``name`` carrying ``data`` arrived; False if this run has ended.

        ``message`` is the id of the store's inbox message that brought it, if any.
        """
        if self.done:
            return False
        if self.deciding:
            self.inbox.append(partial(self._record_signal, name, data, message))
            return True
        self._record_signal(name, data, message)
        self.engine.waiting[self] = None
        return True

    def _record_signal(self, name, data, message):
        key = self.history.signalled(name, data)
        if self.engine.store is not None:
            self.unsaved.append(('g', name, data, message, time.time()))
        tracer = self.engine.tracer
        if tracer is not None:
            self._trace_scheduled(key, 'signal')
            tracer.completed(self.id, key, data)

    # -- cancelling -------------------------------------------------------------------------

    def child_cancelled(self, key):
        """The child run of call ``key`` was cancelled from outside."""
        if self.done or (self.cancelled is not None and key in self.cancelled):
            return
        if self.deciding:
            self.inbox.append(partial(self._record_cancelled, key))
            return
        self._record_cancelled(key)
        self.engine.waiting[self] = None

    def _record_cancelled(self, key):
        reason = cancel_reason(key)
        self.history.cancelled(key, reason)
        if self.engine.store is not None:
            self.unsaved.append(('x', key, reason, None, time.time()))
        if self.engine.tracer is not None:
            self.engine.tracer.failed(self.id, key, reason, 'cancelled')
        task_event(events.task_failed, self, key, reason=reason, cancelled=True)

    def _cancel_call(self, target):
        key = self.history.to_cancel(target)
        if key is None:
            return False
        started = self.history.get(key) is not None
        self._stop(key)
        reason = cancel_reason(key)
        self.history.cancelled(key, reason)
        tracer = self.engine.tracer
        if tracer is not None:
            dep = call_id(key).rpartition('-')[0]
            if started:
                tracer.failed(self.id, key, reason, 'cancelled')
            else:  # it waited for its arguments: the trace has not seen it yet
                spec = self.config.specs.get(dep)
                tracer.call_failed(self.id, key, dep, self.decisions, reason,
                                   kind=spec.kind if spec is not None else 'activity')
                tracer.failed(self.id, key, reason, 'cancelled')
        task_event(events.task_failed, self, key, reason=reason, cancelled=True)
        return True

    def _stop(self, key):
        """Stop the work of call ``key`` (running, delayed, or not started at all)."""
        engine = self.engine
        if is_builtin(key):
            if self.timers:
                engine.cancel(self.timers.pop(key, None))
            return
        if self.cancelled is None:
            self.cancelled = set()
        self.cancelled.add(key)  # a late outcome is dropped, a delayed start skipped
        outcome = self.history.get(key)
        if outcome is None or outcome.state is not RUNNING:
            return  # never scheduled: it waited for its arguments
        spec = self.config.specs.get(call_id(key).rpartition('-')[0])
        if spec is not None and spec.kind is WORKFLOW:
            if self.child_timers:
                engine.cancel(self.child_timers.pop(key, None))
            child = engine._child(self, key)
            if child is not None:
                child.end_tree(cancelled_outcome('%s was cancelled by its parent' % key))
        elif spec is not None and engine.stop_activity(self, spec, key):
            engine.activity_ended()  # it was queued, or its worker process was killed

    def end_tree(self, outcome):
        """End this run, its child runs, and the work they have running."""
        for child in [run for run in self.engine.live if run.parent is self]:
            child.end_tree(outcome)
        self._stop_activities()
        self.end(outcome)

    def _stop_activities(self):
        engine, specs = self.engine, self.config.specs
        for key, outcome in list(self.history._outcomes.items()):
            if outcome.state is not RUNNING or is_builtin(key):
                continue
            spec = specs.get(call_id(key).rpartition('-')[0])
            if spec is not None and engine.stop_activity(self, spec, key):
                engine.activity_ended()

    def cancel_run(self, reason=None, message=None):
        """Cancel this run from outside: stop what it runs, end it with TaskCancelled."""
        if self.done:
            return False
        reason = 'the run was cancelled' + (': %s' % reason if reason else '')
        if message is not None:
            self.consumed.append(message)
        outcome = cancelled_outcome(reason)
        for child in [run for run in self.engine.live if run.parent is self]:
            child.end_tree(outcome)
        self._stop_activities()
        self.conclude(outcome)
        return True
