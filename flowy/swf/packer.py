"""Pack the calls a driver decided into SWF responses, within SWF's limits.

:func:`to_swf` returns the ``decisions`` argument of one
``respond_decision_task_completed`` call, given how each dependency is reached on SWF
(:class:`~flowy.swf.types.TaskType`) and the run's :class:`Packer`, which holds what
packing keeps from one response of a run to the next.  The SWF decision of each part
comes from :mod:`flowy.swf.decisions`.

* a call started is kept in ``packer.sent`` until the history shows the start (or SWF's
  refusal);
* a call with a retry or back-off timer is kept in ``packer.waiting`` and scheduled when
  the timer fires, whether or not the driver decides it again (the replay driver does;
  the cached driver decides a call once).  A call whose start SWF refused for a rate or
  a limit moves from ``packer.sent`` to ``packer.waiting``: the cached driver does not
  decide it again, the replay driver does, as any call missing from the history;
* a response holds at most :data:`~flowy.swf.decisions.MAX_DECISIONS` (100) decisions.
  Give the driver ``limit=CALL_LIMIT`` (99) or less: each call becomes at most one SWF
  decision, and the last slot is for the timer that wakes the decider up again when the
  driver has more calls than fit (``Decision.more``): SWF only schedules a decision task
  when something happens, and a ``StartTimer`` of 0 seconds is that something.  A
  decision with an outcome has no calls, so a final decision always fits.
  :func:`to_swf` raises :class:`~flowy.swf.decisions.TooManyDecisions` if the driver
  decided more calls than ``limit`` allows;
* SWF rejects a request over 1 MB, headers included.  The decisions of a response are
  kept within :data:`~flowy.swf.decisions.MAX_RESPONSE_BYTES` (900,000) bytes of JSON as
  botocore encodes it (ASCII, so never fewer bytes than the UTF-8 on the wire), which
  leaves room for the task token, an execution context and the headers: 99 inputs of
  32,768 characters would be about 3.3 MB.

**Both drivers, the same responses.**  The replay driver decides, up to its ``limit``,
every call not in the history yet, in call order: the new ones, the ones decided before
but not sent (below), the ones waiting for a retry or back-off timer (one whose timer is
pending takes its place in the limit, with no SWF decision) and the ones SWF refused for
a rate or a limit.  The cached driver decides each call once.  So :func:`to_swf` sends,
in call order (``position``), the first ``call_limit`` of all those calls together: the
backlog of earlier responses, the calls of this decision and the calls of
``packer.waiting`` (with the throttled calls of ``packer.sent`` moved there; a call the
replay driver decided again is one of them, sent once).  ``call_limit`` is the ``limit``
the driver was given: pass it; by default, the number of calls of the last decision that
stopped at the limit (``Decision.more``; both drivers then decide exactly ``limit``
calls), kept in ``packer.call_limit``, else ``limit - 1``.  Given the driver's limit, a
cached decider sends what a replaying one does, response for response.  Without it,
before a decision stopped at its limit, a cached decider may send more calls in a
response than a lower limit allows (never more than fit): the responses then differ,
each call still going out once and in call order.  As the cached driver does not count
the calls held back (waiting for a timer, or in the backlog) against its limit, its body
can reach its end while more of them are missing from the history than the limit
allows; a replay would stop at its limit before the end.  The outcome then waits: the
response sends the calls, as the replay's does, and the run closes once a decision finds
no more of them than the limit.

Calls that do not fit (beyond ``call_limit``, ``limit`` decisions with the wake-up timer,
or the byte budget) wait for the next response, which the wake-up timer brings: every call
after the first that does not fit waits too, so no call starts before an earlier one
(except one held back by its retry or back-off timer).  Calls with a retry or back-off
timer wait in ``packer.waiting`` (their decision depends on the timer), the others in
``packer.backlog``; a call leaves either once the history has it.  A response with
nothing to send but calls whose retry or back-off timer is pending has no wake-up timer:
the next decision would be the same until such a timer fires, and its firing wakes the
decider up (never a busy loop).

A packer belongs to one :class:`~flowy.swf.history.ExecutionHistory`, as the live body
of the cached driver does: a decider that starts from a fresh history starts a fresh
packer and loses nothing, since a driver given a fresh history replays it and decides
every call missing from it again, and the refusals and timers that decide when a
throttled call starts again are read from the events.
"""

from ..decision import Decision, FailCall
from .decisions import (
    MAX_DECISIONS,
    MAX_RESPONSE_BYTES,
    STARTS,
    TooManyDecisions,
    close_decision,
    size,
    translate_call,
    wake_up_timer,
)
from .effects import CANCELLED_MARKER, EFFECTS, WAKING, translate_effects
from .names import CALL_FAILED_MARKER

__all__ = ['Packer', 'to_swf']


class Packer:
    """What packing keeps between the responses of one run (see the module documentation).

    ``execution``: the run's :class:`~flowy.swf.history.ExecutionHistory`, fed up to the
    decision task being answered.  ``sent``: key -> (call, its refusals when sent), the
    calls started and not in the history yet; ``waiting``: key -> call, the calls with
    a retry or back-off timer; ``backlog``: key -> slot, the calls decided but not sent
    because a response was full; ``call_limit``: the driver's limit as learned from a
    decision that stopped at it (None until then).
    """

    __slots__ = ('execution', 'sent', 'waiting', 'backlog', 'call_limit')

    def __init__(self, execution):
        self.execution = execution
        self.sent = {}
        self.waiting = {}
        self.backlog = {}
        self.call_limit = None

    def __repr__(self):
        return '<Packer sent=%d waiting=%d backlog=%d>' % (
            len(self.sent), len(self.waiting), len(self.backlog))

    def settle(self):
        """Drop the calls the history has; a throttled start waits for its back-off."""
        execution = self.execution
        history = execution.history
        for key in list(self.sent):
            call, refusals = self.sent[key]
            if history.get(key) is not None:
                del self.sent[key]  # started, or refused for good
            elif execution.refusals(key) > refusals:
                # refused for a rate or a limit: it starts again after its back-off
                # timer, as the replay driver decides it again
                del self.sent[key]
                self.waiting[key] = call
        for key in [key for key in self.waiting if history.get(key) is not None]:
            del self.waiting[key]  # started (or failed to) since

    def held_back(self, call_limit=None):
        """Whether more calls are missing from the history than the driver's limit allows.

        They are the calls of the backlog and of ``waiting`` that the history does not
        have yet; with a limit known (given, or learned), a replay driver would decide
        them all again and stop at its limit.
        """
        if call_limit is None:
            call_limit = self.call_limit
        if call_limit is None:
            return False
        history = self.execution.history
        missing = set(key for key in self.backlog if history.get(key) is None)
        missing.update(key for key in self.waiting if history.get(key) is None)
        return len(missing) > call_limit

    def slots(self, decision, task_types, store, limit):
        """Every call to start, by key: the backlog, ``decision``'s calls, the waiting."""
        history = self.execution.history
        slots = {key: slot for key, slot in self.backlog.items() if history.get(key) is None}
        needed = int(decision.more)
        for call in decision.calls:
            if call.key not in slots:
                slots[call.key] = self._slot(call, task_types, store)
                if slots[call.key].decision is None:
                    continue  # its timer is pending: no SWF decision
            needed += 1
        if needed > limit:
            raise TooManyDecisions(
                'the decision needs %d SWF decisions, and a response holds at most %d; give '
                'the driver limit=%d' % (needed, limit, limit - 1))
        for key, call in self.waiting.items():
            if key not in slots:
                slots[key] = _Slot(call, _LATER, waits=True)
        return slots

    def _slot(self, call, task_types, store):
        swf_decision = translate_call(call, task_types, self.execution, store)
        waits = _waits(call, swf_decision, self.execution)
        if waits:
            self.waiting[call.key] = call
        return _Slot(call, swf_decision, waits=waits)

    def room(self, decision, call_limit, limit):
        """How many calls this response may start (learning the driver's limit)."""
        if call_limit is None:
            if decision.more and decision.calls:  # a driver stops at its limit exactly
                self.call_limit = len(decision.calls)
            call_limit = self.call_limit or limit - 1
        return max(call_limit, len(decision.calls), 1)

    def remember(self, went, ordered):
        """Keep the starts sent (until the history has them) and the calls left over."""
        gone = set()
        for slot in went:
            gone.add(slot.key)
            if slot.decision['decisionType'] in STARTS:
                self.sent[slot.key] = (slot.call, self.execution.refusals(slot.key))
        self.backlog = {}
        for slot in ordered:
            if slot.key not in gone and not slot.waits:
                if slot.size is None:
                    slot.size = size(slot.decision)
                self.backlog[slot.key] = slot


def to_swf(decision, task_types, packer, limit=MAX_DECISIONS, store=None,
           budget=MAX_RESPONSE_BYTES, call_limit=None):
    """The SWF decisions (a list of dicts) that carry out ``decision``.

    ``task_types`` maps each dependency name to its :class:`~flowy.swf.types.TaskType`;
    ``packer`` is the run's :class:`Packer`, whose history is fed up to this decision
    task.  A response starts at most ``call_limit`` calls (the ``limit`` the driver was
    given; by default the one it showed by stopping at it, else ``limit - 1``), those of
    the backlog, the waiting calls and the calls of ``decision`` together, first in call
    order (a call waiting for its timer takes its place without a decision, as under
    replay), and holds at most ``limit`` decisions and ``budget`` bytes of JSON.
    ``store`` (a :class:`~flowy.swf.payload.PayloadStore`) takes the inputs, result or
    restart input too large for SWF; store errors propagate.  Raises
    :class:`~flowy.swf.decisions.TooManyDecisions` if ``decision`` alone needs more than
    ``limit`` decisions (give the driver ``limit=CALL_LIMIT``).
    """
    execution = packer.execution
    packer.settle()
    if decision.outcome is not None:
        if not packer.held_back(call_limit):
            # the values the last activation recorded (markers, now()) go before the close
            recorded, _ = translate_effects(
                [command for command in decision.calls if isinstance(command, EFFECTS)],
                execution, {}, store)
            return recorded + [close_decision(decision.outcome, execution, store)]
        # The cached driver's body went on to its end while calls it made were held back
        # (by a retry or back-off timer, or by the limit of a response): replay, deciding
        # them all again, would stop at its limit before the end.  Do as it does: send
        # them, and decide again (the outcome comes back once they are in the history).
        decision = Decision(more=True)
    effects = [command for command in decision.calls if isinstance(command, EFFECTS)]
    if effects:  # timers, markers, cancels: one SWF decision each, sent first
        decision = Decision([call for call in decision.calls
                             if not isinstance(call, EFFECTS)], more=decision.more)
    slots = packer.slots(decision, task_types, store, limit - len(effects))
    effect_decisions = []
    if effects:
        pending = {key: slot.call for key, slot in slots.items()
                   if execution.history.get(key) is None}
        effect_decisions, dropped = translate_effects(effects, execution, pending, store)
        for key in dropped:  # cancelled before they started: never sent
            slots.pop(key, None)
            packer.waiting.pop(key, None)
            packer.backlog.pop(key, None)
    ordered = sorted(slots.values(), key=_position)
    room = packer.room(decision, call_limit, limit)
    response = _Response(limit, budget)
    for swf_decision in effect_decisions:
        response.add(swf_decision)
    more = response.fill(ordered[:room], task_types, execution, store) or len(ordered) > room
    # A marker of a call that failed before it started schedules no decision task on
    # SWF, nor does a cancel: the wake-up timer brings the next one, so the body sees
    # the failure (or the cancellation) at once.  With nothing to send but calls waiting
    # for their timers, a wake-up timer would only bring the same decision back: their
    # timers wake the decider up.
    if (more or decision.more or response.marked()) and (response.decisions
                                                         or not response.timers):
        response.wake_up(execution.last_event_id)
    packer.remember(response.went, ordered)
    return response.decisions


_LATER = object()  # the decision of a waiting call: made if it is its turn
_WAKING_MARKERS = frozenset([CALL_FAILED_MARKER, CANCELLED_MARKER])


class _Response:
    """The decisions of one response as they are added, within its limits."""

    def __init__(self, limit, budget):
        self.limit = limit
        self.budget = budget
        self.decisions = []
        self.went = []  # the slots of the calls in ``decisions``
        self.used = 2  # the brackets of the list; each decision after the first adds ', '
        self.timers = False  # a call of this response waits for its timer

    def fill(self, slots, task_types, execution, store):
        """Add the decisions of ``slots`` in order while they fit; True if one did not."""
        for slot in slots:
            if slot.decision is _LATER:
                slot.decision = translate_call(slot.call, task_types, execution, store)
            if slot.decision is None:
                self.timers = True  # it takes its place in the limit, as under replay
                continue
            if slot.size is None:
                slot.size = size(slot.decision)
            if self.decisions and not self._fits(slot.size):
                return True
            self.used += slot.size + (2 if self.decisions else 0)
            self.decisions.append(slot.decision)
            self.went.append(slot)
        return False

    def add(self, swf_decision):
        """Add a decision that is not a call's (a timer, a marker, a cancel request)."""
        self.used += size(swf_decision) + (2 if self.decisions else 0)
        self.decisions.append(swf_decision)

    def _fits(self, extra):
        return len(self.decisions) < self.limit and self.used + 2 + extra <= self.budget

    def marked(self):
        """Whether a decision needs the wake-up timer: nothing else would bring a task."""
        for swf_decision in self.decisions:
            kind = swf_decision['decisionType']
            if kind in WAKING:
                return True
            if kind == 'RecordMarker' and swf_decision['recordMarkerDecisionAttributes'][
                    'markerName'] in _WAKING_MARKERS:
                return True
        return False

    def wake_up(self, last_event_id):
        """End with the wake-up timer; what does not fit then waits (one call stays)."""
        timer = wake_up_timer(last_event_id)
        extra = size(timer)
        while self.went and len(self.decisions) > 1 and not self._fits(extra):
            self.decisions.pop()
            self.used -= self.went.pop().size + 2
        if len(self.decisions) < self.limit:
            self.decisions.append(timer)


def _waits(call, swf_decision, execution):
    """Whether ``call`` goes through a retry or back-off timer (see ``_Slot.waits``)."""
    if type(call) is FailCall:
        return False
    if swf_decision is not None and swf_decision['decisionType'] == 'RecordMarker':
        return False
    return call.delay > 0 or execution.refusals(call.key) > 0


class _Slot:
    """A call to start in this response or a later one, and its SWF decision.

    ``waits``: the call goes through a retry or back-off timer, and lives in
    ``packer.waiting`` (its decision depends on the timer) rather than in the backlog.
    """

    __slots__ = ('position', 'key', 'call', 'decision', 'size', 'waits')

    def __init__(self, call, swf_decision, waits=False):
        self.position = call.position
        self.key = call.key
        self.call = call
        self.decision = swf_decision
        self.size = None
        self.waits = waits


def _position(slot):
    return slot.position
