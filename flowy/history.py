"""A workflow run's history: what happened to each call, in the order it finished.

Engines fill a :class:`History` from their own records (the local engine as outcomes
arrive, the SWF engine from execution events); drivers only read it.  Every lookup a
replay makes is a dict access, so replaying a body costs O(calls), not O(calls^2).
"""

__all__ = ['RUNNING', 'COMPLETED', 'FAILED', 'TIMEDOUT', 'CANCELLED', 'Outcome', 'History',
           'call_id', 'is_builtin', 'signal_key', 'attempt_keys', 'cancel_reason']

RUNNING = 'running'
COMPLETED = 'completed'
FAILED = 'failed'
TIMEDOUT = 'timedout'
CANCELLED = 'cancelled'

#: Keys of what a body waits on that is not a task call start with this character,
#: which no dependency name can hold: ``@sleep-0`` (a timer), ``@marker-0``, ``@now-0``
#: (recorded values) and ``@signal-approve-0`` (the first signal named ``approve``).
#: They have no attempts.
BUILTIN = '@'


def is_builtin(key):
    """True for the key of a timer, a recorded value or a signal (not a task call)."""
    return key[:1] == BUILTIN


def call_id(key):
    """``square-3`` for the call key ``square-3-0``: one id for every attempt of a call.

    A timer's, a marker's or a signal's key is its own id (they have no attempts).
    """
    if key[:1] == BUILTIN:
        return key
    return key.rpartition('-')[0]


def cancel_reason(key):
    """The reason recorded for call ``key`` cancelled by its workflow (on every engine)."""
    return '%s was cancelled' % call_id(key)


def signal_key(name, number):
    """The key of signal ``number`` (from 0, in arrival order) named ``name``."""
    return '%ssignal-%s-%d' % (BUILTIN, name, number)


def attempt_keys(target):
    """The keys of every attempt of call id ``target``, in order (one for a timer)."""
    if target[:1] == BUILTIN:
        yield target
        return
    attempt = 0
    while True:
        yield '%s-%d' % (target, attempt)
        attempt += 1


class Outcome:
    """What the history knows about one attempt of one call."""

    __slots__ = ('state', 'position', 'data', 'reason', 'cause', 'order')

    def __init__(self, state, position=None):
        self.state = state
        self.position = position
        self.data = None
        self.reason = None
        self.cause = None
        self.order = None

    def __repr__(self):
        return '<Outcome %s order=%s position=%s>' % (self.state, self.order, self.position)


class History:
    """Outcomes by call key, a finish order, and where in the body each call was made.

    ``position`` is the index of the call among all task calls the body made; replaying
    drivers compare it with the position of the call they are making now to detect a
    body that is not deterministic.

    Engines also set two things a body can read: ``now``, the time of the decision
    being made (seconds since the epoch; None: the driver reads the clock), and ``ids``,
    the ``(workflow_id, run_id)`` of the run (None when the engine has none).
    """

    __slots__ = ('_outcomes', '_calls_at', '_finish_order', '_signals', 'now', 'ids',
                 '__weakref__')

    def __init__(self):
        self._outcomes = {}
        self._calls_at = {}
        self._finish_order = []
        self._signals = {}
        self.now = None
        self.ids = None

    def get(self, key):
        """The :class:`Outcome` of ``key``, or None if it was never scheduled."""
        return self._outcomes.get(key)

    def call_at(self, position):
        """The id of the call recorded at ``position`` (see :func:`call_id`), or None."""
        key = self._calls_at.get(position)
        return None if key is None else call_id(key)

    def calls(self):
        """Number of calls (not attempts) the history recorded a position for."""
        return len(self._calls_at)

    def positions(self):
        """Recorded positions and the call id made at each, in position order."""
        return sorted((position, call_id(key)) for position, key in self._calls_at.items())

    @property
    def finished(self):
        """How many outcomes have finished; the next one gets this order."""
        return len(self._finish_order)

    def finished_since(self, count):
        """Keys of the outcomes that finished after the first ``count``, in order."""
        return self._finish_order[count:]

    def scheduled(self, key, position=None):
        outcome = Outcome(RUNNING, position)
        self._outcomes[key] = outcome
        if position is not None:
            self._calls_at.setdefault(position, key)
        return outcome

    def completed(self, key, data):
        self._finish(key, COMPLETED).data = data

    def failed(self, key, reason, cause=None, position=None):
        outcome = self._finish(key, FAILED, position)
        outcome.reason, outcome.cause = reason, cause

    def timed_out(self, key, reason='the task timed out'):
        self._finish(key, TIMEDOUT).reason = reason

    def cancelled(self, key, reason=None):
        """Record that ``key`` was cancelled (running, or before it could start)."""
        self._finish(key, CANCELLED).reason = reason or cancel_reason(key)

    def signalled(self, name, data):
        """Record the arrival of a signal ``name`` carrying ``data``; return its key.

        Signals of one name are numbered in arrival order: the n-th one to arrive is
        what the n-th ``wait_signal(name)`` of the body receives.
        """
        number = self._signals.get(name, 0)
        self._signals[name] = number + 1
        key = signal_key(name, number)
        self.completed(key, data)
        return key

    def signals(self, name):
        """How many signals named ``name`` arrived."""
        return self._signals.get(name, 0)

    def to_cancel(self, target):
        """The attempt key a cancellation of call id ``target`` applies to, or None.

        That is the attempt running now or still to start (a call waiting for its
        arguments, or for a retry); None if the call already finished.
        """
        outcomes = self._outcomes
        for key in attempt_keys(target):
            outcome = outcomes.get(key)
            if outcome is None or outcome.state is RUNNING:
                return key
            if outcome.state is COMPLETED or outcome.state is CANCELLED or is_builtin(key):
                return None
            # A failure or a timeout: a later attempt may follow, or none did.
            following = '%s-%d' % (target, int(key.rpartition('-')[2]) + 1)
            if following not in outcomes:
                return None

    def _finish(self, key, state, position=None):
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self.scheduled(key, position)
        elif outcome.state is not RUNNING:
            raise ValueError('%s already finished (%s); an outcome is recorded once'
                             % (key, outcome.state))
        outcome.state = state
        outcome.order = len(self._finish_order)
        self._finish_order.append(key)
        return outcome
