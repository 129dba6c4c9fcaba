"""Messages from outside a local run's event loop: signals and cancels.

A run handle (another thread) hands the loop an action with :meth:`Messages.deliver`
and waits for its answer; another process leaves messages in the run store's inbox,
which the loop reads now and then (:meth:`Messages._read_inbox`).  Either way the
action runs on the loop, like any event.
"""

import logging
import threading
from concurrent.futures import Future
from functools import partial

from ..errors import FlowyError
from .store_records import StoreError

__all__ = ['Messages', 'RunEnded']

logger = logging.getLogger('flowy')


class Messages:
    """The part of the :class:`~flowy.local.engine.Engine` that takes messages."""

    #: Seconds between two looks at the run store's inbox (signals and cancels sent by
    #: other processes) while stored runs are live.
    inbox_every = 0.5

    def _open_messages(self):
        self._messages = set()  # futures of deliver() not carried out yet
        self._accepting = True
        self._messages_lock = threading.Lock()
        self._inbox_timer = None
        self._seen_messages = set()  # inbox messages applied and not committed yet

    def deliver(self, action):
        """From any thread: run ``action()`` on the event loop; returns a Future of it.

        The future fails with :class:`RunEnded` if the run ends before the loop gets to it.
        """
        future = Future()
        with self._messages_lock:
            if not self._accepting:
                future.set_exception(RunEnded())
                return future
            self._messages.add(future)
        self.post(partial(self._carry_out, action, future))
        return future

    def _carry_out(self, action, future):
        with self._messages_lock:
            self._messages.discard(future)
        try:
            result = action()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _refuse_messages(self):
        with self._messages_lock:
            self._accepting = False
            left, self._messages = self._messages, set()
        for future in left:
            future.set_exception(RunEnded())

    def _read_inbox(self):
        """Apply the signals and cancels other processes queued in the store for live runs."""
        store = self.store
        runs = {run.id: run for run in self.live if store.holds(run.id)}
        try:
            messages = store.inbox(list(runs)) if runs else ()
        except StoreError as exc:
            logger.warning('could not read the inbox of the run store: %s', exc)
            messages = ()
        seen = self._seen_messages
        for message in messages:
            if message.id in seen:
                continue
            run = runs.get(message.run)
            if run is None:
                continue
            seen.add(message.id)
            if message.kind == 'signal':
                run.signalled(message.name, message.data, message.id)
            elif message.kind == 'cancel':
                run.cancel_run(message.data, message.id)
        if self.outcome is None:
            self._inbox_timer = self.after(self.inbox_every, self._read_inbox)

    def committed(self, messages):
        """The inbox ``messages`` were consumed in a commit: their ids may come again."""
        self._seen_messages.difference_update(messages)

    def run_ended(self, run):
        self.live.pop(run, None)
        forget = getattr(self.driver, 'forget', None)
        if forget is not None:
            forget(run.history)


class RunEnded(FlowyError):
    """A signal or a cancel was sent to a run that has ended."""

    def __init__(self, message='the run has ended: it takes no more signals'):
        super().__init__(message)
