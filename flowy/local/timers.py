"""Timers of a local run's event loop: actions due at a time of the engine's clock.

Retry delays, timeouts, ``flowy.sleep`` and the inbox's looks are all timers: entries in
a heap that the loop's wait is bounded by.  A timer holds no thread.
"""

import heapq
import itertools
import time

__all__ = ['Timer', 'Timers']


class Timer:
    """An action the event loop runs at a time of :attr:`Engine.clock`, unless cancelled."""

    __slots__ = ('when', 'action', 'live')

    def __init__(self, when, action):
        self.when = when
        self.action = action
        self.live = True


class Timers:
    """The timers of the :class:`~flowy.local.engine.Engine` (and its deferred runs'
    deadlines, which bound its waits too)."""

    #: The clock of every timer and timeout (seconds; only differences count).
    clock = staticmethod(time.monotonic)

    def _open_timers(self):
        self.timers = []  # heap of (when, sequence number, Timer)
        self.live_timers = 0  # timers neither run nor cancelled yet
        self._sequence = itertools.count()

    def _next_deadline(self):
        if not self.deferred and not self.timers:
            return None
        deadlines = list(self.deferred.values())
        if self.timers:
            deadlines.append(self.timers[0][0])
        return min(deadlines)

    def _until_deadline(self):
        deadline = self._next_deadline()
        return None if deadline is None else max(0.0, deadline - self.clock())

    def at(self, when, action):
        """Run ``action()`` on the event loop once :attr:`clock` reaches ``when``."""
        timer = Timer(when, action)
        heapq.heappush(self.timers, (when, next(self._sequence), timer))
        self.live_timers += 1
        return timer

    def after(self, seconds, action):
        """Run ``action()`` on the event loop ``seconds`` from now; returns its Timer."""
        return self.at(self.clock() + seconds, action)

    def cancel(self, timer):
        if timer is not None and timer.live:
            timer.live = False
            self.live_timers -= 1
            timers = self.timers
            if len(timers) > 64 and self.live_timers < len(timers) // 4:
                # Mostly cancelled timers (finished calls' timeouts): drop them now.
                timers[:] = [entry for entry in timers if entry[2].live]
                heapq.heapify(timers)

    def _run_timers(self):
        timers, now = self.timers, self.clock()
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)[2]
            if timer.live:
                timer.live = False
                self.live_timers -= 1
                timer.action()
