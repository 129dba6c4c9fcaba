"""Activities (and transports) of the semantics suite.

Everything here is defined at module level so that a process pool can send it to its
workers by reference; ``tests/conftest.py`` keeps this directory importable there.
The optional ``after`` arguments are ignored: passing a task result there makes a call
wait for it, which forces a finish order without sleeping.

Calls that must finish after others they do not depend on (the losers of a ``first``)
take a ``gate``: a file path (made by the ``gates`` fixture) that they wait for before
they return.  The workflow opens it with ``release(gate, after=winner)``, a call that
starts only once the winner's outcome is recorded, or the test opens it when it ends.
A gate of None holds nothing: on engines that run calls one at a time (plain Python,
the simulated histories) the fixture gives None, and the order is theirs.
"""

import datetime
import decimal
import json
import os
import threading
import time
import uuid

import flowy
from flowy import TaskError


class ActivityFailure(TaskError):
    """What the failing activities raise.

    It is a ``TaskError`` so that a workflow that catches ``TaskError`` also catches it
    when it runs as plain Python, where activities raise their own exceptions directly.
    """


GATE_TIMEOUT = 60  # seconds a held call waits for its gate before it fails the test
GATE_POLL = 0.002  # seconds between two looks for the gate file


def hold(gate):
    """Return once the file ``gate`` exists (at once for None); fail after GATE_TIMEOUT."""
    if gate is None:
        return
    # A file, because the held call may run in a pool process or an SWF worker thread.
    # The pause only spaces out the looks: the order comes from the file, which exists
    # only once release() has run.
    deadline = time.monotonic() + GATE_TIMEOUT
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise AssertionError('gate %s was never opened' % gate)
        time.sleep(GATE_POLL)


def release(gate, after=None):
    """Open ``gate`` (None: nothing to open); pass the result it waits for as ``after``."""
    if gate is not None:
        with open(gate, 'a'):
            pass


def square(n, after=None, gate=None):
    hold(gate)
    return n * n


def inc(n, after=None):
    return n + 1


def add(a, b):
    return a + b


def mul(a, b):
    return a * b


def concat(a, b):
    return a + b


def wrap(x, after=None):
    return [x]


def echo(value, after=None, gate=None):
    hold(gate)
    return value


def fail(message, after=None, gate=None):
    hold(gate)
    raise ActivityFailure(message)


def boom(message, after=None):
    raise ValueError(message)


def power(base, exp=2, offset=0):
    return base ** exp + offset


def signature(*args, **kwargs):
    """What the activity received: positional values and sorted keyword items."""
    return [list(args), sorted(kwargs.items())]


def whoami():
    """The activity's flowy.context(): workflow name, call key and attempt."""
    try:
        found = flowy.context()
    except flowy.UsageError:
        return 'no context'
    return [found.workflow.endswith('WhoAmI'), found.key, found.attempt]


def where():
    """The process id and thread name this activity runs in."""
    return [os.getpid(), threading.current_thread().name]


class StubbornError(Exception):
    """An exception that pickles but cannot be unpickled (its __init__ needs two args)."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def stubborn(message):
    raise StubbornError(message, 42)


def unserializable():
    return object()


def make_list(n):
    return list(range(n))


def make_dict(n):
    return {'n': n, 'square': n * n}


def upper(text):
    return text.upper()


def type_tree(value):
    """The names of the types inside ``value``, as the activity received it.

    It asks ``value.__class__`` (not ``type(value)``), so that the workflow body can use
    it on a task result too: a result proxy reports its value's class.
    """
    kind = value.__class__
    if kind in (list, tuple):
        return [kind.__name__, [type_tree(item) for item in value]]
    if kind in (set, frozenset):
        return [kind.__name__, sorted(type_tree(item) for item in value)]
    if kind is dict:
        return ['dict', [[type_tree(k), type_tree(v)] for k, v in value.items()]]
    return kind.__name__


def tagged_sample():
    """A value that plain JSON would not round-trip, built inside an activity."""
    return {
        'tuple': (1, (2, 'x')),
        'bytes': b'\x00\xffbin',
        'uuid': uuid.UUID('12345678-1234-5678-1234-567812345678'),
        'set': {3, 1, 2},
        'frozenset': frozenset(['a']),
        'datetime': datetime.datetime(2024, 2, 29, 13, 14, 15, 16,
                                      tzinfo=datetime.timezone.utc),
        'date': datetime.date(1999, 12, 31),
        'time': datetime.time(23, 59, 58, 7),
        'timedelta': datetime.timedelta(days=-1, seconds=5, microseconds=6),
        'decimal': decimal.Decimal('3.14159265358979323846'),
        'nested': [(b'', frozenset()), {'!t': 'not a tag'}],
        'numbers': [2 ** 100, -7, 1.5, float('inf'), -float('inf'), True, None],
        'int_keys': {1: 'one', (2, 3): 'pair'},
    }


class ShoutTransport:
    """A per-task transport that marks its payloads and upper-cases every string.

    ``loads`` refuses text it did not write, and a value that went through it comes
    back with upper-case strings, so a test can tell whether it was used.
    """

    PREFIX = 'shout:'

    def dumps(self, value):
        return self.PREFIX + json.dumps(value)

    def loads(self, text):
        if not text.startswith(self.PREFIX):
            raise ValueError('not a shout payload: %r' % text[:40])
        return _shout(json.loads(text[len(self.PREFIX):]))


def _shout(value):
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [_shout(item) for item in value]
    if isinstance(value, dict):
        return {key: _shout(item) for key, item in value.items()}
    return value


SHOUT = ShoutTransport()
