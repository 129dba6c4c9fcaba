"""A workflow run's history: what happened to each call, in the order it finished.

Engines fill a :class:`History` from their own records (the local engine as outcomes
arrive, the SWF engine from execution events); drivers only read it.  Every lookup a
replay makes is a dict access, so replaying a body costs O(calls), not O(calls^2).
"""

__all__ = ['RUNNING', 'COMPLETED', 'FAILED', 'TIMEDOUT', 'Outcome', 'History', 'call_id']

RUNNING = 'running'
COMPLETED = 'completed'
FAILED = 'failed'
TIMEDOUT = 'timedout'


def call_id(key):
    """``square-3`` for the call key ``square-3-0``: one id for every attempt of a call."""
    return key.rpartition('-')[0]


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
    """

    __slots__ = ('_outcomes', '_calls_at', '_finish_order', '__weakref__')

    def __init__(self):
        self._outcomes = {}
        self._calls_at = {}
        self._finish_order = []

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
