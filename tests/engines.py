"""Test engines: run a workflow configuration without pools or threads.

``SimulatedEngine`` drives the replay decider against a synthetic in-memory history and
runs activities inline, completing them in an order chosen by a seeded random generator
(or first-in first-out).  It records every decision, so tests can compare drivers and
check the exact calls made.
"""

import random

from flowy.config import WORKFLOW
from flowy.decision import CancelCall, FailCall, Finish, RecordMarker, Restart, StartTimer
from flowy.drivers.replay import replay
from flowy.errors import TaskError
from flowy.history import History
from flowy.local.runner import failure_reason, run_activity


class Stuck(AssertionError):
    """The workflow waits for nothing that is running: a driver bug."""


class SimulatedEngine:
    """Run ``config`` to completion with the replay driver on a synthetic history.

    ``seed=None`` completes calls first-in first-out, one per decision; otherwise a
    ``random.Random(seed)`` picks which running calls finish next and how many finish
    between two decisions.  Timers are running calls that complete like the others.
    ``signals`` (``(name, value)`` pairs) are sent to the top-level run (after a restart,
    to the new run, as SWF sends a signal to a workflow id's current run; never to a
    child workflow), in that order, one before each decision while any is left (a random
    choice, with a seed), and whenever the run waits with nothing running; no timer of
    that run fires while a signal is still to be sent to it.  Retry
    delays are not waited for: a retried attempt runs like any other call.  Each
    decision is made at a time of a fake clock (``history.now``) that moves one second
    per decision.  ``late_cancels`` (with a seed): the calls a decision cancels may
    finish first (at random), as on an engine where outcomes arrive while it decides.
    """

    def __init__(self, config, seed=None, max_decisions=100000, driver=replay, limit=None,
                 signals=(), late_cancels=False):
        self.config = config
        self.late_cancels = late_cancels
        self.signals = list(signals)
        self.clock = 1_000_000_000.0
        self.limit = limit
        self.random = None if seed is None else random.Random(seed)
        self.max_decisions = max_decisions
        self.driver = driver
        self.decisions = []
        self.histories = []
        self._children = 0  # child workflows running inline now

    def run(self, *args, **kwargs):
        outcome = self.run_encoded(self.config, self.config._encode_input(args, kwargs))
        if type(outcome) is Finish:
            return self.config.transport.loads(outcome.result)
        raise TaskError(outcome.reason) from outcome.error

    def run_encoded(self, config, input_data):
        """Run one workflow (following restarts) and return its Finish or Fail."""
        while True:
            outcome = self._run_once(config, input_data)
            if type(outcome) is not Restart:
                return outcome
            input_data = outcome.input

    def _run_once(self, config, input_data):
        top = not self._children  # the run the test started (or its restart): it is signalled
        history = History()
        self.histories.append(history)
        running = []
        for _ in range(self.max_decisions):
            if top and self.signals and (self.random is None or self.random.random() < 0.3):
                self._signal(config, history)
            self.clock += 1.0
            history.now = self.clock
            decision = self.driver(config, input_data, history, limit=self.limit)
            self.decisions.append(decision)
            recorded = False
            late = (self.late_cancels and self.random is not None
                    and self.random.random() < 0.5)
            cancels = []
            for call in decision.calls:
                kind = type(call)
                if kind is FailCall:
                    history.failed(call.key, call.reason, call.cause, call.position)
                    recorded = True
                elif kind is RecordMarker:
                    history.scheduled(call.key, call.position)
                    history.completed(call.key, call.details)
                elif kind is CancelCall and late:
                    cancels.append(call.target)
                elif kind is CancelCall:
                    recorded = self._cancel(history, running, call.target) or recorded
                else:
                    history.scheduled(call.key, call.position)
                    running.append(call)
            if decision.outcome is not None:
                return decision.outcome
            if cancels and not running:  # nothing to finish first
                for target in cancels:
                    recorded = self._cancel(history, running, target) or recorded
                cancels = []
            if not running:
                if decision.more or recorded:
                    continue
                if top and self.signals:
                    self._signal(config, history)
                    continue
                raise Stuck('the workflow waits, but nothing is running: %r' % decision)
            for call in self._pick_some(running, top and self.signals):
                self._complete(config, history, call)
            for target in cancels:
                self._cancel(history, running, target)
            if top and self.signals and not any(type(call) is not StartTimer
                                                 for call in running):
                self._signal(config, history)  # before a timer fires, as said above
        raise Stuck('no outcome after %d decisions' % self.max_decisions)

    def _pick_some(self, running, hold_timers):
        """The calls to complete now; no timer while ``hold_timers``."""
        if not hold_timers:
            return self._pick(running)
        others = [call for call in running if type(call) is not StartTimer]
        if not others:
            return []
        picked = self._pick(others)
        running[:] = [call for call in running if not any(call is p for p in picked)]
        return picked

    def _pick(self, running):
        if self.random is None:
            return [running.pop(0)]
        count = self.random.randint(1, len(running))
        picked = []
        for _ in range(count):
            picked.append(running.pop(self.random.randrange(len(running))))
        return picked

    def _signal(self, config, history):
        name, value = self.signals.pop(0)
        history.signalled(name, config.transport.dumps(value))

    @staticmethod
    def _cancel(history, running, target):
        key = history.to_cancel(target)
        if key is None:
            return False
        running[:] = [call for call in running if call.key != key]
        history.cancelled(key)
        return True

    def _complete(self, config, history, call):
        if type(call) is StartTimer:
            history.completed(call.key, 'null')
            return
        spec = config.specs[call.dep]
        if spec.kind is WORKFLOW:
            self._children += 1
            try:
                outcome = self.run_encoded(spec.target, call.input)
            finally:
                self._children -= 1
            if type(outcome) is Finish:
                history.completed(call.key, outcome.result)
            else:
                # as the local engine does: the call's error names no type (the
                # child's own failure is its cause)
                error = TaskError(outcome.reason, call.key)
                error.__cause__ = outcome.error
                history.failed(call.key, outcome.reason, error)
            return
        try:
            data = run_activity(spec.target, spec.transport, call.key, call.input)
        except Exception as exc:
            history.failed(call.key, failure_reason(exc), exc)
        else:
            history.completed(call.key, data)
