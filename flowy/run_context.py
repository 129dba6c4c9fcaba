"""Which run a piece of code belongs to: :func:`flowy.context` answers with a Context.

Engines install the context of each activity call they run with :class:`running`;
a workflow body's context comes from the driver activation running it.
"""

import contextvars

__all__ = ['Context', 'Binding', 'running', 'activity_context', 'attempt_of']

_activity = contextvars.ContextVar('flowy_activity_context', default=None)


class Context:
    """The run a body or an activity belongs to.

    ``workflow`` is the workflow's name, ``workflow_id`` and ``run_id`` identify the run
    on its engine (None where the engine has no such id).  In an activity, ``key`` is
    the call key (``charge-3-0``) and ``attempt`` the attempt number (from 0); both are
    None in a body.  ``key`` is the same on every attempt but its last part, so
    ``context().key.rpartition('-')[0]`` is an idempotency key for the call.
    """

    __slots__ = ('workflow', 'workflow_id', 'run_id', 'key', 'attempt')

    def __init__(self, workflow, workflow_id=None, run_id=None, key=None, attempt=None):
        self.workflow = workflow
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.key = key
        self.attempt = attempt

    def __eq__(self, other):
        return type(other) is Context and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return '<Context %s>' % ' '.join(
            '%s=%r' % (name, getattr(self, name)) for name in self.__slots__
            if getattr(self, name) is not None)

    def __reduce__(self):
        return Context, tuple(getattr(self, name) for name in self.__slots__)


def attempt_of(key):
    """The attempt number at the end of a task call key (``charge-3-1`` -> 1)."""
    try:
        return int(key.rpartition('-')[2])
    except ValueError:
        return None


class Binding:
    """``with Subclass(value):`` the subclass's context variable holds ``value`` in the block.

    The previous value is restored on leaving it.  A class rather than a generator: the
    engines enter one per activation or per activity call, and those may be small.
    """

    __slots__ = ('value', '_token')
    variable = None  # the ContextVar; each subclass names its own

    def __init__(self, value):
        self.value = value
        self._token = None

    def __enter__(self):
        self._token = self.variable.set(self.value)
        return self

    def __exit__(self, *exc_info):
        self.variable.reset(self._token)
        self._token = None
        return False


class running(Binding):
    """``with running(context):`` activity code in the block sees ``context``.

    ``context`` is a :class:`Context`, or a callable returning the current one (an
    engine running many calls in one block says which it runs when asked).
    """

    __slots__ = ()
    variable = _activity


def activity_context():
    """The context of the activity running here, or None."""
    found = _activity.get()
    if found is None or type(found) is Context:
        return found
    return found()
