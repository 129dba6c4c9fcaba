"""What a driver tells an engine to do after one activation of a workflow body.

A :class:`Decision` is plain data: the calls to start (in call order), the calls that
failed before they could start, timers to start, values to record, calls to cancel, and
at most one outcome for the whole run.  Engines turn
it into their own commands (futures on a pool, SWF decisions); nothing here knows them.
"""

__all__ = ['ScheduleCall', 'FailCall', 'StartTimer', 'RecordMarker', 'CancelCall', 'Finish',
           'Fail', 'Cancelled', 'Restart', 'Decision']


class _Command:
    """Plain data compared by the fields in ``_compared`` (causes and errors are not)."""

    __slots__ = ()
    _compared = ()

    def __eq__(self, other):
        return type(other) is type(self) and all(
            getattr(self, name) == getattr(other, name) for name in self._compared)

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, ' '.join(
            '%s=%r' % (name, getattr(self, name)) for name in self._compared))


class ScheduleCall(_Command):
    """Start attempt ``attempt`` of call ``call_number`` of dependency ``dep``."""

    __slots__ = _compared = ('key', 'dep', 'call_number', 'attempt', 'position', 'input',
                             'depends_on', 'delay')

    def __init__(self, key, dep, call_number, attempt, position, input, depends_on=(),
                 delay=0):
        self.key = key
        self.dep = dep
        self.call_number = call_number
        self.attempt = attempt
        self.position = position
        self.input = input
        self.depends_on = depends_on
        self.delay = delay

    def __repr__(self):
        return '<ScheduleCall %s at %s input=%s>' % (self.key, self.position, self.input)


class FailCall(_Command):
    """A call that failed before it could start (its input could not be serialized).

    The engine records the failure in the history like any other outcome, so that it
    gets a finish order and every later activation sees it the same way.
    """

    __slots__ = ('key', 'dep', 'position', 'reason', 'cause')
    _compared = ('key', 'position', 'reason')

    def __init__(self, key, dep, position, reason, cause=None):
        self.key = key
        self.dep = dep
        self.position = position
        self.reason = reason
        self.cause = cause


class StartTimer(_Command):
    """Start the timer ``key`` (``@sleep-N``): it finishes ``seconds`` from now.

    The engine records it as running at once, and as completed (with the encoded value
    ``None``) when it fires.
    """

    __slots__ = _compared = ('key', 'position', 'seconds')

    def __init__(self, key, position, seconds):
        self.key = key
        self.position = position
        self.seconds = seconds


class RecordMarker(_Command):
    """Record ``details`` (encoded) under ``key`` in the history: a marker or a value of
    ``now()``.  The engine records it as completed at once (SWF: ``RecordMarker``)."""

    __slots__ = _compared = ('key', 'position', 'name', 'details')

    def __init__(self, key, position, name, details):
        self.key = key
        self.position = position
        self.name = name
        self.details = details


class CancelCall(_Command):
    """Cancel the call ``target`` (a call id such as ``square-3``, or a timer key).

    The engine asks whatever runs it to stop (an activity's heartbeat returns True, a
    worker process is stopped, a child run ends, a timer is dropped) and records the
    attempt that :meth:`~flowy.history.History.to_cancel` names as cancelled, at once:
    a call still waiting for its arguments or a retry never starts.  Nothing happens if
    the call has finished.
    """

    __slots__ = _compared = ('target', 'position')

    def __init__(self, target, position):
        self.target = target
        self.position = position


class Finish(_Command):
    """The workflow returned; ``result`` is the encoded value."""

    __slots__ = _compared = ('result',)

    def __init__(self, result):
        self.result = result


class Fail(_Command):
    """The workflow failed with ``reason``; ``error`` is the exception when there is one."""

    __slots__ = ('reason', 'error')
    _compared = ('reason',)

    def __init__(self, reason, error=None):
        self.reason = reason
        self.error = error


class Cancelled(Fail):
    """The run was cancelled from outside; ``error`` is a :class:`~flowy.TaskCancelled`.

    Engines make this outcome themselves (no body decides it); a :class:`Fail`
    otherwise, so that code handling failures handles it too.
    """

    __slots__ = ()


class Restart(_Command):
    """Start the workflow over with a fresh history and ``input`` (encoded)."""

    __slots__ = _compared = ('input',)

    def __init__(self, input):
        self.input = input


class Decision:
    """``calls`` to start or fail (in call order) and the run's ``outcome``, if any.

    An outcome of None means the body is waiting for results still to come.  When an
    outcome is set, the calls are dropped, but for the values to record (markers,
    ``now()``), which are kept: a finished run starts nothing new.  ``more``
    says the body stopped only because the decision reached its limit of calls: decide
    again as soon as these are started.  ``waiting_for`` names what the body is parked
    on (a call key, or a description of a combined result) when it has no outcome; it
    is for messages only and takes no part in comparisons.
    """

    __slots__ = ('calls', 'outcome', 'more', 'waiting_for')

    def __init__(self, calls=(), outcome=None, more=False, waiting_for=None):
        self.calls = (list(calls) if outcome is None
                      else [call for call in calls if type(call) is RecordMarker])
        self.outcome = outcome
        self.more = more and outcome is None
        self.waiting_for = waiting_for if outcome is None else None

    @property
    def done(self):
        return self.outcome is not None

    def __eq__(self, other):
        return (type(other) is Decision and other.calls == self.calls
                and other.outcome == self.outcome and other.more == self.more)

    def __repr__(self):
        more = ' more' if self.more else ''
        return '<Decision calls=%r outcome=%r%s>' % (self.calls, self.outcome, more)
