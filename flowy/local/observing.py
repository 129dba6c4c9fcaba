"""The local engine's side of :mod:`flowy.events`: the fields every event carries.

Each helper returns at once when nobody listens to the event (one test of an empty
dict), so the engine calls them on its hottest paths.
"""

from ..events import send
from ..history import is_builtin

__all__ = ['run_event', 'task_event', 'SENDER']

SENDER = 'local'


def run_event(event, run, **fields):
    """Send ``event`` about ``run`` (a :class:`~flowy.local.run.Run`)."""
    if event.receivers:
        parent = run.parent
        send(event, SENDER, run_id=run.history.ids[1], workflow=run.config.name,
             parent=None if parent is None else parent.history.ids[1],
             parent_key=run.key, **fields)


def task_event(event, run, key, **fields):
    """Send ``event`` about the call ``key`` of ``run``."""
    if event.receivers:
        dep, attempt = _dep_and_attempt(key)
        send(event, SENDER, run_id=run.history.ids[1], workflow=run.config.name, key=key,
             dep=dep, attempt=attempt, **fields)


def _dep_and_attempt(key):
    if is_builtin(key):  # a timer, a marker or a signal: no attempts
        return key.rpartition('-')[0], 0
    call, _, attempt = key.rpartition('-')
    return call.rpartition('-')[0], int(attempt)
