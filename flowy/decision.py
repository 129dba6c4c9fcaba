"""What a driver tells an engine to do after one activation of a workflow body.

A :class:`Decision` is plain data: the calls to start (in call order), the calls that
failed before they could start, and at most one outcome for the whole run.  Engines turn
it into their own commands (futures on a pool, SWF decisions); nothing here knows them.
"""

__all__ = ['ScheduleCall', 'FailCall', 'Finish', 'Fail', 'Restart', 'Decision']


class ScheduleCall:
    """Start attempt ``attempt`` of call ``call_number`` of dependency ``dep``."""

    __slots__ = ('key', 'dep', 'call_number', 'attempt', 'position', 'input', 'depends_on',
                 'delay')

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

    def __eq__(self, other):
        return type(other) is ScheduleCall and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return '<ScheduleCall %s at %s input=%s>' % (self.key, self.position, self.input)


class FailCall:
    """A call that failed before it could start (its input could not be serialized).

    The engine records the failure in the history like any other outcome, so that it
    gets a finish order and every later activation sees it the same way.
    """

    __slots__ = ('key', 'dep', 'position', 'reason', 'cause')

    def __init__(self, key, dep, position, reason, cause=None):
        self.key = key
        self.dep = dep
        self.position = position
        self.reason = reason
        self.cause = cause

    def __eq__(self, other):
        return (type(other) is FailCall and (self.key, self.position, self.reason)
                == (other.key, other.position, other.reason))

    def __repr__(self):
        return '<FailCall %s: %s>' % (self.key, self.reason)


class Finish:
    """The workflow returned; ``result`` is the encoded value."""

    __slots__ = ('result',)

    def __init__(self, result):
        self.result = result

    def __eq__(self, other):
        return type(other) is Finish and other.result == self.result

    def __repr__(self):
        return '<Finish %s>' % self.result


class Fail:
    """The workflow failed with ``reason``; ``error`` is the exception when there is one."""

    __slots__ = ('reason', 'error')

    def __init__(self, reason, error=None):
        self.reason = reason
        self.error = error

    def __eq__(self, other):
        return type(other) is Fail and other.reason == self.reason

    def __repr__(self):
        return '<Fail %s>' % self.reason


class Restart:
    """Start the workflow over with a fresh history and ``input`` (encoded)."""

    __slots__ = ('input',)

    def __init__(self, input):
        self.input = input

    def __eq__(self, other):
        return type(other) is Restart and other.input == self.input

    def __repr__(self):
        return '<Restart %s>' % self.input


class Decision:
    """``calls`` to start or fail (in call order) and the run's ``outcome``, if any.

    An outcome of None means the body is waiting for results still to come.  When an
    outcome is set, the calls are dropped: a finished run starts nothing new.  ``more``
    says the body stopped only because the decision reached its limit of calls: decide
    again as soon as these are started.
    """

    __slots__ = ('calls', 'outcome', 'more')

    def __init__(self, calls=(), outcome=None, more=False):
        self.calls = list(calls) if outcome is None else []
        self.outcome = outcome
        self.more = more and outcome is None

    @property
    def done(self):
        return self.outcome is not None

    def __eq__(self, other):
        return (type(other) is Decision and other.calls == self.calls
                and other.outcome == self.outcome and other.more == self.more)

    def __repr__(self):
        more = ' more' if self.more else ''
        return '<Decision calls=%r outcome=%r%s>' % (self.calls, self.outcome, more)
