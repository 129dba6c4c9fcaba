"""The exceptions flowy raises.

Every public exception derives from :class:`FlowyError`.  A task's own exception never
crosses into the workflow as itself: the workflow sees a :class:`TaskError` whose message
is the task's reason and whose ``__cause__`` is the original exception whenever the
engine could carry it (the local engine always can).
"""

__all__ = ['FlowyError', 'TaskError', 'TaskTimedout', 'TaskCancelled', 'NondeterminismError',
           'UsageError']


class FlowyError(Exception):
    """Base class of every exception raised by flowy itself."""


class TaskError(FlowyError):
    """A task failed, or a value derived from a failed task was used.

    ``str(error)`` is the reason the task gave (for an activity that raised, the message
    of its exception).  ``key`` names the call that failed (``square-3-0``) when known.
    """

    def __init__(self, reason, key=None):
        super().__init__(reason)
        self.reason = str(reason)
        self.key = key

    def __str__(self):
        return self.reason

    def __reduce__(self):
        return type(self), (self.reason, self.key)

    def _clone(self):
        # Raising one instance repeatedly would grow its traceback on every access of
        # the failed result; each access raises a fresh copy that keeps the cause.
        clone = type(self)(self.reason, self.key)
        clone.__cause__ = self.__cause__
        return clone


class TaskTimedout(TaskError):
    """Every attempt of a task timed out."""


class TaskCancelled(TaskError):
    """A task, timer or child workflow was cancelled before it finished, or a whole run was.

    Raised where the body uses the result of a call it cancelled with
    :func:`flowy.cancel`, and by a run cancelled from outside (a handle's ``cancel()``,
    ``flowy cancel``).
    """


class NondeterminismError(FlowyError):
    """Replaying a workflow made different calls than its history recorded.

    A workflow body must make the same task calls in the same order every time it runs
    against the same history; reading clocks, random numbers or external state in the
    body breaks that.
    """


class UsageError(FlowyError, TypeError):
    """flowy was used in a way that cannot work; the message says how to fix it.

    For instance a body that uses a result made by another workflow run, or a plain
    reducer given to :func:`~flowy.parallel_reduce` that calls a task.  It is raised
    where the mistake is made.  A reducer's mistake fails the run even if the body
    catches it: the reduction may go on after the body's call returned, and the run
    must end the same way on every driver.
    """


def exception_text(exc):
    """What ``exc`` says: its message, or the name of its type when it has none.

    Never raises: an exception from foreign code may have a ``__str__`` that fails, and
    describing a failure must not become a failure of its own.
    """
    try:
        text = str(exc)
    except Exception:
        text = ''
    return text if text else _type_name(exc)


def exception_line(exc):
    """``ValueError: bad input`` for ``exc``: its type's name, then its message if any."""
    name = _type_name(exc)
    try:
        text = str(exc)
    except Exception:
        text = ''
    return '%s: %s' % (name, text) if text else name


def _type_name(exc):
    return type(exc).__name__


def _fix_module_names():
    # Tracebacks and reprs show the public location (flowy.TaskError), not this module.
    for name in __all__:
        globals()[name].__module__ = 'flowy'


_fix_module_names()
