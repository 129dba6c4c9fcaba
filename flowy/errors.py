"""The exceptions flowy raises.

Every public exception derives from :class:`FlowyError`.  A task's own exception never
crosses into the workflow as itself: the workflow sees a :class:`TaskError` that names
the call, the exception's type and its message, and carries the exception's traceback
as text (see :class:`TaskError`).
"""

__all__ = ['FlowyError', 'TaskError', 'TaskTimedout', 'TaskCancelled', 'NondeterminismError',
           'UsageError']


class FlowyError(Exception):
    """Base class of every exception raised by flowy itself."""


class TaskError(FlowyError):
    """A task failed, or a value derived from a failed task was used.

    For a task call that failed, ``str(error)`` names the call, the type of the
    exception it raised and its message::

        parse-2-0 failed: ValueError: invalid literal for int() with base 10: 'three'

    on every engine, and so does the error a run that left it unhandled fails with.
    Its attributes:

    * ``key``: the call that failed (``parse-2-0``: dependency, call number, attempt), or
      None when no call is to blame (the body itself raised);
    * ``reason``: the task's own message (``invalid literal for int() ...``), or the
      whole text when there is nothing more to say;
    * ``type_name``: the name of the type of the exception the task raised
      (``'ValueError'``), or None when it is not known (a child workflow that failed, a
      call that could not be started);
    * ``traceback``: the traceback of that exception as Python prints it, as text, taken
      where the task ran (a worker thread, a worker process, an SWF activity worker, or
      the run store); None when not known.

    A call whose argument is a failed result is never made: its result is the very
    same error (same key, same text).  ``__cause__`` is the original exception when the
    engine could carry it (threads), or an object standing for it.

    Parameters: ``reason`` (the message), ``key``, ``type_name`` and ``traceback`` as
    above, and ``text``, what ``str(error)`` says when it is not ``reason`` alone.
    """

    def __init__(self, reason, key=None, type_name=None, traceback=None, text=None):
        super().__init__(reason)
        self.reason = str(reason)
        self.key = key
        self.type_name = type_name
        self._traceback = traceback  # text, or an exception formatted when asked for
        self._text = text

    @property
    def traceback(self):
        """The remote traceback as text, or None (see the class documentation)."""
        found = self._traceback
        if found is not None and not isinstance(found, str):
            found = self._traceback = format_traceback(found)
        return found

    def __str__(self):
        return self.reason if self._text is None else self._text

    def __reduce__(self):
        args = (self.reason, self.key)
        if self.type_name is not None or self._traceback is not None or self._text is not None:
            args += (self.type_name, self.traceback, self._text)
        return type(self), args

    def _clone(self):
        # Raising one instance repeatedly would grow its traceback on every access of
        # the failed result; each access raises a fresh copy that keeps the cause.
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.args = self.args
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


def failed_call_text(key, reason, type_name=None):
    """``parse-2-0 failed: ValueError: bad input``: what the failure of call ``key`` says.

    The type's name is left out when it is not known, and not repeated when the reason
    is that name or already begins with it (``SystemExit: 2``).
    """
    return '%s failed: %s' % (key, typed_reason(reason, type_name))


def typed_reason(reason, type_name=None):
    """``ValueError: bad input``: ``reason`` after the type's name, if it is known."""
    if type_name and reason != type_name and not reason.startswith(type_name + ': '):
        return '%s: %s' % (type_name, reason) if reason else type_name
    return reason


def format_traceback(exc):
    """The traceback of ``exc`` as Python prints it, as text; never raises."""
    import traceback
    try:
        return ''.join(traceback.format_exception(exc))
    except Exception:
        return exception_line(exc)


def describe_failure(cause):
    """``(type_name, traceback)`` of the exception a task failed with, from ``cause``.

    ``cause`` is what an engine recorded as the cause of the failure: the exception
    itself (threads), one rebuilt from a worker process (its ``__cause__`` holding the
    worker's traceback text as ``remote_traceback``), a flowy-made :class:`TaskError`
    that names a call (it carries both already), or an object that stands for a failure
    recorded elsewhere and says ``remote_type`` and ``remote_traceback`` (a run store's
    record, SWF's event).  The traceback may come back as an exception, which
    :class:`TaskError` formats only when asked for.
    """
    if cause is None:
        return None, None
    if isinstance(cause, TaskError) and cause.key is not None:
        return cause.type_name, cause._traceback
    remote = getattr(cause, 'remote_type', _MISSING)
    if remote is not _MISSING:
        return remote, getattr(cause, 'remote_traceback', None)
    inner = cause.__cause__
    text = getattr(inner, 'remote_traceback', None)
    if text is None and type(inner).__name__ == '_RemoteTraceback':
        text = getattr(inner, 'tb', None)  # concurrent.futures' process pools
    if isinstance(text, str):
        return _type_name(cause), text
    return _type_name(cause), cause


_MISSING = object()


def adopt_call_error(error):
    """Let ``error``, the error a whole run failed with, describe the call it failed for.

    A run that failed because its body left the error of a call unhandled fails with
    that error's text; its error then also takes that call's ``key``, ``reason``,
    ``type_name`` and ``traceback`` (found as its ``__cause__``).  Returns ``error``.
    """
    cause = getattr(error, '__cause__', None)
    if (isinstance(error, TaskError) and isinstance(cause, TaskError)
            and error.type_name is None and cause.key is not None
            and error.reason == str(cause)):
        error.key, error.reason, error.type_name = cause.key, cause.reason, cause.type_name
        error._traceback, error._text = cause._traceback, str(cause)
    return error


def _fix_module_names():
    # Tracebacks and reprs show the public location (flowy.TaskError), not this module.
    for name in __all__:
        globals()[name].__module__ = 'flowy'


_fix_module_names()
