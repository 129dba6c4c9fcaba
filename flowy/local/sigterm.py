"""SIGTERM during a run: stop the pools' worker processes too, then end as SIGTERM would.

By default SIGTERM ends the process at once, and worker processes of a process pool
outlive it, still running their activities.  While a run is active on the main thread
(and nobody else has claimed SIGTERM), the signal interrupts the run as Ctrl-C does;
the workers are killed, and the process then ends by SIGTERM as it would have.
"""

import os
import signal
import threading

from .pools import terminate_all

__all__ = ['stopping_on_sigterm']


class _Terminated(BaseException):
    """SIGTERM arrived while a run was active: raised in the run's loop to stop it."""


class stopping_on_sigterm:
    """``with stopping_on_sigterm():`` SIGTERM inside the block kills the pools' workers."""

    __slots__ = ('installed', 'received', 'pid')

    def __init__(self):
        self.installed = self.received = False
        self.pid = None

    def __enter__(self):
        self.installed = (threading.current_thread() is threading.main_thread()
                          and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        if self.installed:
            self.pid = os.getpid()
            signal.signal(signal.SIGTERM, self._received)
        return self

    def _received(self, signum, frame):
        if os.getpid() != self.pid:
            _die_of_sigterm()  # a worker forked while the handler was set: as the default
        self.received = True
        raise _Terminated('SIGTERM')

    def __exit__(self, *exc_info):
        if not self.installed:
            return False
        if signal.getsignal(signal.SIGTERM) == self._received:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if self.received:
            terminate_all()
            _die_of_sigterm()
        return False


def _die_of_sigterm():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
