"""A live progress bar of a run, built on :mod:`flowy.events`: ``pip install 'flowy[progress]'``.

``LocalWorkflow.run(..., _progress=True)``, ``flowy local resume`` and ``flowy run``
(whose decider and activity worker run in the same process) draw one on the terminal:
task calls done out of those scheduled so far, how many run, failed, timed out or are
retried, the rate and the time elapsed.  Nothing is drawn when the output is not a
terminal, or without tqdm.
"""

import sys
import threading
import time

from . import events

__all__ = ['Progress', 'watching', 'REDRAW_EVERY']

#: The shortest time between two drawings of the bar, in seconds.
REDRAW_EVERY = 0.2

_WORKER = 'swf-activity'  # the sender of the SWF activity worker's events


class Progress:
    """Counts the task events of one run and its children; draws them with tqdm.

    ``run_id`` is the root run's id: events of runs whose id starts with it (its child
    runs ``<id>/<key>`` and restarts ``<id>+<n>``) count too.  ``stream`` is where the bar
    goes (standard error by default); ``force`` draws it even when that is not a
    terminal (for tests).
    """

    def __init__(self, run_id, description=None, stream=None, force=False):
        self.run_id = run_id
        self.stream = sys.stderr if stream is None else stream
        self.scheduled = self.started = self.done = self.failed = 0
        self.timed_out = self.retried = 0
        self.lock = threading.Lock()
        self.drawn = 0.0
        self.bar = None
        if force or _is_terminal(self.stream):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=0, desc=description or str(run_id), unit='task',
                                file=self.stream, dynamic_ncols=True, leave=True,
                                mininterval=0.2)
        self._receivers = [
            (events.task_scheduled, self._scheduled), (events.task_started, self._started),
            (events.task_finished, self._finished), (events.task_failed, self._failed),
            (events.task_timed_out, self._timed_out), (events.task_retried, self._retried)]
        for event, receiver in self._receivers:
            event.connect(receiver)

    def close(self):
        """Stop counting; leave the bar as it is, with its final counts."""
        for event, receiver in self._receivers:
            event.disconnect(receiver)
        if self.bar is not None:
            with self.lock:
                self._draw()
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def running(self):
        return max(0, self.started - self.done - self.failed - self.timed_out)

    def _mine(self, fields):
        run_id = fields.get('run_id')
        return run_id is not None and str(run_id).startswith(str(self.run_id))

    def _count(self, name, fields, done=0):
        if not self._mine(fields):
            return
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)
            if self.bar is not None:
                now = time.monotonic()
                if now - self.drawn >= REDRAW_EVERY:
                    self.drawn = now
                    self._draw(done)
                elif done:
                    self.bar.n += done  # drawn with the next change that redraws

    def _draw(self, done=0):
        bar = self.bar
        bar.total = self.scheduled
        bar.set_postfix_str('running %d, failed %d, timed out %d, retried %d'
                            % (self.running, self.failed, self.timed_out, self.retried),
                            refresh=False)
        bar.update(done)
        bar.refresh()

    # An SWF activity worker running in this process (``flowy run``) tells when its tasks
    # start; their outcomes are counted once, as the decider reads them in the history.

    def _scheduled(self, sender, **fields):
        if fields.get('kind') != 'timer' and sender != _WORKER:
            self._count('scheduled', fields)

    def _started(self, sender, **fields):
        self._count('started', fields)

    def _finished(self, sender, **fields):
        if not fields['key'].startswith('@') and sender != _WORKER:
            self._count('done', fields, done=1)

    def _failed(self, sender, **fields):
        if not fields['key'].startswith('@') and sender != _WORKER:
            self._count('failed', fields, done=1)

    def _timed_out(self, sender, **fields):
        if sender != _WORKER:
            self._count('timed_out', fields, done=1)

    def _retried(self, sender, **fields):
        if sender != _WORKER:
            self._count('retried', fields)


class watching:
    """``with watching(run_id, enabled):`` a :class:`Progress` for the block, if enabled."""

    def __init__(self, run_id, enabled, description=None):
        self.progress = Progress(run_id, description) if enabled else None

    def __enter__(self):
        return self.progress

    def __exit__(self, *exc_info):
        if self.progress is not None:
            self.progress.close()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
