"""Who holds a stored run: a process, named by its host, pid and start time.

A run store records the process that drives each run (its claim).  Another process
may take the claim over only once that process has ended: :func:`has_ended` tells,
from here, without mistaking a later process that reuses the pid for the holder.
"""

import os
import socket

__all__ = ['this_process', 'has_ended']


def this_process():
    """(host, pid, start time) of this process, as recorded in a claim."""
    return socket.gethostname(), os.getpid(), _process_start()


def has_ended(host, pid, start):
    """True if the process (host, pid, start) is known to have ended.

    False when it may still run: on another host (which cannot be checked from here),
    with no pid recorded, or when it is this very process.
    """
    if host != socket.gethostname() or pid is None or pid == os.getpid():
        return False
    started = _process_start(pid)
    if started is not None:
        return start is not None and started != start
    if _process_start() is not None:
        return True  # /proc has no live process with that pid
    return not _alive(pid)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid=None):
    """When process ``pid`` (default: this one) started, in clock ticks; None if unknown.

    With the pid it tells a live holder from a later process that reuses its pid.  A
    zombie (ended, not yet reaped) counts as gone.  Only Linux's /proc is read.
    """
    try:
        with open('/proc/%s/stat' % ('self' if pid is None else pid)) as stream:
            fields = stream.read().rpartition(')')[2].split()
    except OSError:
        return None
    if fields[0] in ('Z', 'X'):
        return None
    return int(fields[19])
