"""One execution of one workflow on the local engine: its history and its decisions."""

import time
from functools import partial

from .. import events
from ..config import WORKFLOW
from ..decision import Cancelled, Fail, FailCall, Finish, Restart, ScheduleCall
from ..drivers.effects import TIMER
from ..errors import TaskError
from ..history import History
from .feeder import Attempt
from .observing import run_event, task_event
from .run_effects import RunEffects
from .runner import failure_reason
from .store_records import FAILED, FINISHED, RecordedError, StoreError

__all__ = ['Run']

_SCHEDULED, _FINISHED = events.task_scheduled, events.task_finished


class Run(RunEffects):
    """One execution of one workflow (the root, a child, or a restarted run).

    ``workflow_id`` is the id of the first run of a chain of restarts (this run's own
    id if it is the first); with ``run_id`` it is what ``flowy.context()`` reports.
    """

    def __init__(self, engine, config, input_data, parent=None, key=None, run_id=None,
                 history=None, workflow_id=None):
        self.engine = engine
        self.config = config
        self.input_data = input_data
        self.parent = parent
        self.key = key
        self.history = History() if history is None else history
        # With a run store: outcomes recorded in the history and not yet committed, in
        # arrival order, as (kind, key, data or reason, exception, time).
        self.unsaved = []
        self.saved_end = False
        self.successor_id = None  # the store's id of the run this one restarted as
        self.child_ids = {}  # call key -> the store's id of a child run not started yet
        self.inbox = []
        self.deciding = False
        self.again = False
        self.done = False
        self.decisions = 0
        self.last_duration = 0.0
        self.waiting_for = None  # what the body waited for at its last decision
        self.child_timers = None  # {call key: Timer} of children with a timeout
        self.timers = None  # {timer key: Timer} of the body's running timers
        self.cancelled = None  # keys of cancelled calls: their late outcomes are dropped
        self.consumed = []  # ids of the store's inbox messages applied, not committed yet
        self.id = engine.run_started(self, run_id)
        name = engine.run_name(self, run_id, workflow_id)
        self.history.ids = (workflow_id or name, name)
        self.started = time.monotonic()
        if engine.tracer is not None:
            engine.tracer.workflow_started(self.id, config.name, parent and parent.id, key,
                                           input_data)
        run_event(events.run_started, self)

    def resume(self, pending):
        """Start again the calls a stored run scheduled and has no outcome for.

        They are in the history already (as running): they are not recorded again.  A
        call recorded with a start time still to come (a retry waiting for its delay)
        waits until then; a child workflow's timeout counts from its recorded start.
        """
        engine = self.engine
        tracer, now = engine.tracer, time.time()
        for call in pending:
            if call.dep == TIMER:
                self._resume_timer(call, now)
                continue
            spec = self.config.specs.get(call.dep)
            if spec is None:
                continue  # the body no longer has this task: its replay says so
            if tracer is not None:
                tracer.scheduled(self.id, call.key, call.dep, spec.kind, call.depends_on, 0,
                                 call.input)
            if spec.kind is WORKFLOW:
                start = partial(self._resume_child, spec, call.key, call.input, call.started)
            else:
                start = partial(self._launch, spec, call.key, call.input)
            if call.started is not None and call.started > now:
                engine.after(call.started - now, start)
            else:
                start()

    def decide(self):
        """Ask for a decision of this run (made once the events at hand are recorded)."""
        if not self.done:
            self.engine.want_decision(self)

    def decide_now(self, defer=True):
        if self.deciding:
            self.again = True
            return
        if self.done:
            return
        engine = self.engine
        if defer and engine.busy():
            engine.defer(self)
            return
        self.deciding = True
        self.history.now = time.time()
        if engine.inline:
            # A cached decision costs what its news costs: make it right here, on the
            # event loop, rather than hand it to a decider thread and back.
            self._decided(None, _timed(engine.driver, self.config, self.input_data,
                                       self.history, engine.calls_per_decision))
            return
        engine.deciding += 1
        future = engine.pools.deciders.submit(_timed, engine.driver, self.config,
                                              self.input_data, self.history)
        future.add_done_callback(partial(self._post, self._decided))

    def heartbeat(self, key=None):
        """The answer to :func:`flowy.heartbeat` in the activity ``key`` of this run.

        True once the call was cancelled, or this run, one of its ancestors, or the
        engine has ended: nobody will read the activity's result.  Called from the
        activity's thread; it only reads what the event loop sets.
        """
        if self.engine.closed:
            return True
        cancelled = self.cancelled
        if cancelled is not None and key in cancelled:
            return True
        run = self
        while run is not None:
            if run.done:
                return True
            run = run.parent
        return False

    def _post(self, handler, future):
        self.engine.post(partial(handler, future))

    def _decided(self, future, timed=None):
        self.deciding = False
        if future is not None:
            self.engine.deciding -= 1
        if self.done:
            return
        # The driver turns workflow errors into a Fail: future.result() raises only for
        # a bug in flowy itself.
        decision, self.last_duration = timed if future is None else future.result()
        self.decisions += 1
        run_event(events.decision_made, self, calls=len(decision.calls),
                  duration=self.last_duration)
        self.waiting_for = decision.waiting_for
        if self.engine.store is not None:
            self._save(decision.calls, decision.outcome)
        for call in decision.calls:
            self._start(call)
        if decision.more:
            self.again = True
        if decision.outcome is not None:
            self.conclude(decision.outcome)
            return
        inbox, self.inbox = self.inbox, []
        for record in inbox:
            record()
        if self.again or inbox:
            self.again = False
            self.decide()

    def _save(self, calls, outcome):
        """Commit what this decision records: outcomes so far, its calls, the run's end.

        The calls start only once this returns, so a call whose outcome was committed
        never runs again after a crash.
        """
        if not (self.unsaved or calls or outcome is not None or self.consumed):
            return
        cancelling = set()
        with self.engine.store.decision(self.id) as writer:
            for kind, key, value, exc, at in self.unsaved:
                if kind == 'c':
                    writer.completed(key, value, at)
                elif kind == 'f':
                    writer.failed(key, value, exc, at=at)
                elif kind == 'g':  # a signal: ``key`` is its name, ``exc`` its message
                    writer.signalled(key, value, at)
                    if exc is not None:
                        self.consumed.append(exc)
                elif kind == 'x':
                    writer.cancelled(key, value, at)
                else:
                    writer.timed_out(key, value, at)
            if self.consumed:
                writer.consumed(self.consumed)
            for call in calls:
                kind = type(call)
                if kind is FailCall:
                    writer.failed(call.key, call.reason, call.cause, call.position)
                elif kind is not ScheduleCall:
                    self._save_effect(writer, call, cancelling)
                else:
                    # A retry waiting for its delay is recorded with the time it starts:
                    # a resumed run waits until then.
                    writer.scheduled(call.key, call.dep, call.position, call.input,
                                     call.depends_on,
                                     time.time() + call.delay if call.delay else None)
                    spec = self.config.specs[call.dep]
                    if spec.kind is WORKFLOW:
                        self.child_ids[call.key] = writer.child(call.key, spec.target.name,
                                                                call.input)
            if type(outcome) is Finish:
                writer.finish(outcome.result)
            elif isinstance(outcome, Fail):
                writer.fail(outcome.reason, outcome.error)
            elif type(outcome) is Restart:
                self.successor_id = writer.restart(self.config.name, outcome.input)
        self.unsaved = []
        if self.consumed:
            self.engine.committed(self.consumed)
            self.consumed = []
        self.saved_end = outcome is not None

    def _start(self, call):
        history, engine = self.history, self.engine
        tracer = engine.tracer
        kind = type(call)
        if kind is not ScheduleCall and kind is not FailCall:
            if self._carry_out(call):
                self.again = True  # a cancelled call: the body hears of it at once
            return
        spec = self.config.specs[call.dep]
        if kind is FailCall:
            history.failed(call.key, call.reason, call.cause, call.position)
            self.again = True
            if tracer is not None:
                tracer.call_failed(self.id, call.key, call.dep, self.decisions, call.reason,
                                   kind=spec.kind)
            return
        history.scheduled(call.key, call.position)
        if tracer is not None:
            tracer.scheduled(self.id, call.key, call.dep, spec.kind, call.depends_on,
                             self.decisions, call.input)
        if _SCHEDULED.receivers:  # tested here: this is the path of every call
            task_event(_SCHEDULED, self, call.key, kind=spec.kind)
        if call.attempt:
            task_event(events.task_retried, self, call.key, delay=call.delay)
        if call.delay:
            # A retry waits on a timer of the event loop: no worker is held meanwhile.
            engine.after(call.delay, partial(self._launch, spec, call.key, call.input))
        else:
            self._launch(spec, call.key, call.input)

    def _launch(self, spec, key, input_data):
        if self.done or (self.cancelled is not None and key in self.cancelled):
            return
        engine = self.engine
        if spec.kind is WORKFLOW:
            self._start_child(spec, key, input_data, self.child_ids.pop(key, None))
            return
        feeder = engine.feeders.get(spec)
        if feeder is None:
            feeder = engine.feeder_for(spec)
        if feeder is not None:
            engine.in_flight += 1
            attempt = None
            if spec.timeout is not None or spec.heartbeat is not None:
                attempt = Attempt(engine, self, key, spec.timeout, spec.heartbeat)
            feeder.submit(self, key, spec.target, spec.transport, input_data, attempt)
        else:
            engine.submit_activity(self, spec, key, input_data)

    def _start_child(self, spec, key, input_data, run_id, loaded=None, elapsed=0.0):
        """Start (or resume, ``loaded``) the child run of call ``key``.

        Its timeout counts from the child's start, ``elapsed`` seconds ago.
        """
        engine = self.engine
        if spec.timeout is not None:
            if self.child_timers is None:
                self.child_timers = {}
            self.child_timers[key] = engine.after(
                max(0.0, spec.timeout - elapsed),
                partial(self._child_timed_out, key, spec.timeout))
        child = Run(engine, spec.target, input_data, parent=self, key=key, run_id=run_id,
                    history=None if loaded is None else loaded.history)
        if loaded is not None:
            child.resume(loaded.pending)
        child.decide()

    def _resume_child(self, spec, key, input_data, started=None):
        """Call ``key`` started a child workflow: deliver its recorded end, or resume it.

        ``started`` is when the call was recorded to start (its timeout counts from then).
        """
        if self.done:
            return
        store = self.engine.store
        record = store.child(self.id, key)  # the last run, after restarts
        if record is None:  # it is recorded in the decision that scheduled the call
            raise StoreError('%s: run %s has no child run for its call %s'
                             % (store.path, self.id, key))
        if record.state == FINISHED:
            self.arrived(key, record.result, None)
        elif record.state == FAILED:
            error = TaskError(record.reason, key)
            error.__cause__ = RecordedError(record.traceback or record.reason)
            self.arrived(key, None, error, record.reason)
        else:
            store.claim(record.id)
            elapsed = 0.0 if started is None else max(0.0, time.time() - started)
            self._start_child(spec, key, record.input, record.id, store.load(record.id),
                              elapsed)

    def _child_timed_out(self, key, seconds):
        """The child workflow of call ``key`` ran too long: end it; the call timed out."""
        self.child_timers.pop(key, None)
        reason = ('%s timed out: the child workflow ran longer than its timeout of %g s '
                  '(start-to-close)' % (key, seconds))
        child = self.engine._child(self, key)  # the latest run of the child (restarts)
        if child is not None:
            child.end(Fail(reason))
        self.timed_out(key, reason)

    def activity_done(self, key, data, exc):
        """An activity of this run ended, with ``data`` or with ``exc`` (from a feeder)."""
        self.engine.activity_ended()
        self.arrived(key, data, exc)

    def future_done(self, key, future):
        """An activity of this run ended: ``future`` holds its outcome."""
        try:
            self._record_future(key, future)
        finally:
            self.engine.activity_ended(future)

    def _record_future(self, key, future):
        try:
            data = future.result()
        except BaseException as exc:  # CancelledError is a BaseException
            self.engine.activity_failed(exc)
            self.arrived(key, None, exc)
        else:
            self.arrived(key, data, None)

    def arrived(self, key, data, exc, reason=None):
        """Record that call ``key`` finished with ``data`` or failed with ``exc``."""
        if self.done or (self.cancelled is not None and key in self.cancelled):
            return
        if self.deciding:
            self.inbox.append(partial(self._record, key, data, exc, reason))
            return
        if (exc is None and self.engine.tracer is None and self.engine.store is None
                and not _FINISHED.receivers):
            self.history.completed(key, data)
        else:
            self._record(key, data, exc, reason)
        self.engine.waiting[self] = None

    def timed_out(self, key, reason):
        """Record that call ``key`` timed out (its late outcome, if any, is dropped)."""
        if self.done or (self.cancelled is not None and key in self.cancelled):
            return
        if self.deciding:
            self.inbox.append(partial(self._record_timeout, key, reason))
            return
        self._record_timeout(key, reason)
        self.engine.waiting[self] = None

    def _record_timeout(self, key, reason):
        self.history.timed_out(key, reason)
        if self.engine.store is not None:
            self.unsaved.append(('t', key, reason, None, time.time()))
        if self.engine.tracer is not None:
            self.engine.tracer.failed(self.id, key, reason, 'timedout')
        task_event(events.task_timed_out, self, key, reason=reason)

    def _record(self, key, data, exc, reason):
        tracer = self.engine.tracer
        saving = self.engine.store is not None
        if exc is None:
            self.history.completed(key, data)
            if saving:
                self.unsaved.append(('c', key, data, None, time.time()))
            if tracer is not None:
                tracer.completed(self.id, key, data)
            task_event(events.task_finished, self, key)
        else:
            reason = reason or failure_reason(exc)
            self.history.failed(key, reason, exc)
            if saving:
                self.unsaved.append(('f', key, reason, exc, time.time()))
            if tracer is not None:
                tracer.failed(self.id, key, reason)
            task_event(events.task_failed, self, key, reason=reason, cancelled=False)

    def end(self, outcome):
        """End this run with ``outcome`` without delivering it (its calls are abandoned)."""
        engine = self.engine
        if engine.store is not None and not self.saved_end:
            # An end no decision made: a run that stalled, a child that timed out.
            self._save((), outcome)
        self.done = True
        engine.run_ended(self)
        self._drop_timers()
        if self.child_timers:
            for timer in self.child_timers.values():
                engine.cancel(timer)
            self.child_timers = None
        if engine.tracer is not None:
            engine.tracer.workflow_finished(self.id, outcome)
        self._report_end(outcome)

    def _report_end(self, outcome):
        duration = time.monotonic() - self.started
        if isinstance(outcome, Fail):
            run_event(events.run_failed, self, reason=outcome.reason, duration=duration,
                      cancelled=type(outcome) is Cancelled)
        else:
            run_event(events.run_finished, self, duration=duration,
                      restarted=type(outcome) is Restart)

    def conclude(self, outcome):
        """End this run with ``outcome``: deliver it to the parent, or to ``run()``."""
        self.end(outcome)
        engine = self.engine
        if type(outcome) is not Restart and self.parent is not None:
            timers = self.parent.child_timers
            if timers:
                engine.cancel(timers.pop(self.key, None))
        if type(outcome) is Restart:
            successor = Run(engine, self.config, outcome.input, self.parent, self.key,
                            run_id=self.successor_id, workflow_id=self.history.ids[0])
            if engine.tracer is not None:
                engine.tracer.restarted(self.id, successor.id)
            successor.decide()
        elif self.parent is None:
            engine.outcome = outcome
        elif type(outcome) is Finish:
            self.parent.arrived(self.key, outcome.result, None)
        elif type(outcome) is Cancelled:
            self.parent.child_cancelled(self.key)
        else:
            error = TaskError(outcome.reason, self.key)
            error.__cause__ = outcome.error
            self.parent.arrived(self.key, None, error, outcome.reason)


def _timed(driver, config, input_data, history, limit=None):
    start = time.perf_counter()
    decision = driver(config, input_data, history, limit=limit)
    return decision, time.perf_counter() - start
