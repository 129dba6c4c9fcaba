"""Answers held back while a run's workers are behind, so that outcomes gather.

A decider that answers every decision task at once takes one task per outcome when the
activities are short: each costs a poll and a response, two SWF calls whatever they
carry.  Yet when activities of the run wait on their task list (scheduled by an earlier
decision, not started yet), its workers are busy: an answer sent a little later costs
the run nothing, because what it schedules would queue behind them.  Meanwhile the
outcomes that arrive gather, and the next decision task carries them all.

:class:`Holding` decides how long to hold an answer, from what the run's history says
(its :class:`~flowy.swf.backlog.Backlog`, and how fast its activities start), and sends
held answers on a thread of its own when they are due.  The decider goes on polling
meanwhile: other runs are not held up.  An answer is held:

* only when it schedules activities (or records markers, or nothing) and nothing else
  but the wake-up timer that brings the calls a response could not hold (the workflow's
  ``rate_limit``): an answer that closes the run, starts a body's timer or a child
  workflow, or cancels goes at once;
* only while activities the run scheduled earlier still wait on every task list the
  answer schedules on, and once the run's pace is known (from its second decision task
  on): a chain, whose one activity starts as soon as it is scheduled, is never held, nor
  work for idle workers of another task list;
* for half the time the waiting activities keep the workers busy at the pace they start,
  and at most ``longest`` seconds and a quarter of the decision task's start-to-close
  timeout (less the time the decision took).
"""

import heapq
import itertools
import threading
from collections import OrderedDict

from .names import WAKE_UP_TIMER_PREFIX

__all__ = ['Holding', 'HOLDABLE']

#: The decisions an answer may hold; any other one is sent at once.
HOLDABLE = frozenset(['ScheduleActivityTask', 'RecordMarker'])

SHARE = 0.75  # of the time the queued activities keep the workers busy
SHORTEST = 0.01  # seconds: a shorter hold is not worth a thread's hand-off
TIMEOUT_SHARE = 0.25  # of the decision task's start-to-close timeout
PACE_WEIGHT = 0.5  # of the latest measure in the pace (starts per second) of a run


class _Pace:
    """How fast a run's activities start: when its last task came, the starts then."""

    __slots__ = ('seen', 'starts', 'rate')

    def __init__(self, seen, starts):
        self.seen = seen
        self.starts = starts
        self.rate = None

    def measure(self, now, starts):
        elapsed = now - self.seen
        if elapsed > 0:
            latest = (starts - self.starts) / elapsed
            self.rate = latest if self.rate is None else (
                PACE_WEIGHT * latest + (1 - PACE_WEIGHT) * self.rate)
        self.seen = now
        self.starts = starts
        return self.rate


def _waiting_ahead(backlog, decisions):
    """How many of the run's activities wait where the answer's work would go (the
    fewest over its task lists; all of them for an answer that schedules nothing).
    0 when the answer may not wait: a decision not :data:`HOLDABLE`, or a task list
    where none waits, or one not known."""
    fewest = None
    for decision in decisions:
        kind = decision['decisionType']
        if kind not in HOLDABLE and not _wakes_up(decision):
            return 0
        if kind != 'ScheduleActivityTask':
            continue
        attributes = decision['scheduleActivityTaskDecisionAttributes']
        task_list = (attributes.get('taskList') or {}).get('name')
        if task_list is None:  # the type's default: SWF named it in earlier schedules
            activity_type = attributes['activityType']
            task_list = backlog.task_list_of((activity_type['name'], activity_type['version']))
        waiting = backlog.waiting_on(task_list) if task_list is not None else 0
        if not waiting:
            return 0
        fewest = waiting if fewest is None else min(fewest, waiting)
    return len(backlog) if fewest is None else fewest


def _wakes_up(decision):
    """Whether ``decision`` starts the wake-up timer (more calls to send next time)."""
    attributes = decision.get('startTimerDecisionAttributes')
    return attributes is not None and attributes.get('timerId', '').startswith(
        WAKE_UP_TIMER_PREFIX)


class Holding:
    """How long to hold each answer, and the thread that sends the held ones.

    ``longest``: seconds an answer may be held at most (0: never hold).  ``clock``: the
    decider's monotonic clock.  ``keep``: how many runs' paces are remembered.
    """

    def __init__(self, longest, clock, keep=256):
        self.longest = longest
        self.clock = clock
        self.keep = keep
        self.held = 0  # answers held so far (for stats and tests)
        self._paces = OrderedDict()  # run key -> _Pace
        self._due = []  # heap of (when, sequence, send)
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._sender = None

    def __len__(self):
        """How many answers wait to be sent."""
        with self._changed:
            return len(self._due)

    # -- how long -----------------------------------------------------------------------

    def hold_for(self, run_key, execution, decisions, received):
        """Seconds to hold the answer ``decisions`` for the run (0: send it now).

        ``execution``: the run's :class:`~flowy.swf.history.ExecutionHistory` as of this
        task; ``received``: when the task came (the clock's time), or None.
        """
        now = self.clock()
        backlog = execution.backlog
        rate = self._pace(run_key, backlog.starts, now if received is None else received)
        if not self.longest or rate is None:
            return 0
        waiting = _waiting_ahead(backlog, decisions)
        if not waiting:
            return 0
        hold = self.longest if rate <= 0 else min(self.longest, SHARE * waiting / rate)
        timeout = execution.task_start_to_close_timeout
        if timeout and timeout.isdigit():
            hold = min(hold, TIMEOUT_SHARE * int(timeout))
        if received is not None:
            hold -= now - received
        return hold if hold >= SHORTEST else 0

    def _pace(self, run_key, starts, now):
        """The run's pace (starts a second), None before its second task; noted now."""
        pace = self._paces.pop(run_key, None)
        rate = None
        if pace is None:
            pace = _Pace(now, starts)
        else:
            rate = pace.measure(now, starts)
        self._paces[run_key] = pace
        while len(self._paces) > self.keep:
            self._paces.popitem(last=False)
        return rate

    def forget(self, run_key):
        """The run closed (or is no longer decided here): drop its pace."""
        self._paces.pop(run_key, None)

    # -- sending --------------------------------------------------------------------------

    def hold(self, seconds, send):
        """Call ``send()`` in ``seconds``, on the sending thread (started on first use)."""
        with self._changed:
            heapq.heappush(self._due, (self.clock() + seconds, next(self._order), send))
            self.held += 1
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_when_due, daemon=True,
                                                name='flowy-decider-held-answers')
                self._sender.start()
            self._changed.notify()

    def flush(self):
        """Send every held answer now, in this thread; return how many were sent."""
        sent = 0
        while True:
            with self._changed:
                if not self._due:
                    return sent
                _, _, send = heapq.heappop(self._due)
            send()
            sent += 1

    def _send_when_due(self):
        while True:
            with self._changed:
                if not self._due:
                    self._sender = None  # the next hold starts another thread
                    return
                when = self._due[0][0]
                wait = when - self.clock()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                _, _, send = heapq.heappop(self._due)
            send()
