"""Engine-agnostic workflow configuration: the factory and what its dependencies are.

Engines subclass :class:`WorkflowConfig` (``LocalWorkflow``, later the SWF config) and add
tasks through :meth:`WorkflowConfig._add_task`, which checks dependency names once, here.
"""

import inspect
import keyword

from .serialization import JSON

__all__ = ['ACTIVITY', 'WORKFLOW', 'TaskSpec', 'WorkflowConfig', 'check_seconds',
           'check_transport']

ACTIVITY = 'activity'
WORKFLOW = 'workflow'


class TaskSpec:
    """How a workflow reaches one dependency: its name, kind, target and transport.

    ``retry`` holds one delay in seconds per attempt: ``(0,)`` is one attempt, ``(0, 5)``
    allows a second attempt five seconds after the first timed out.  With
    ``retry_failures`` a failed attempt is tried again too (the last failure is the
    call's error); otherwise only timeouts are.

    ``timeout`` is how many seconds an attempt may run, from its start to its close, and
    ``heartbeat`` the most seconds allowed between two heartbeats of a running
    activity; None means no limit.  Engines that keep their own timeouts (SWF) leave
    them None.
    """

    __slots__ = ('dep', 'kind', 'target', 'transport', 'retry', 'retry_failures',
                 'timeout', 'heartbeat')

    def __init__(self, dep, kind, target, transport=None, retry=(0,), retry_failures=False,
                 timeout=None, heartbeat=None):
        self.dep = dep
        self.kind = kind
        self.target = target
        self.transport = check_transport(transport)
        self.retry = _check_retry(retry)
        self.retry_failures = bool(retry_failures)
        self.timeout = check_seconds('timeout', timeout)
        self.heartbeat = check_seconds('heartbeat', heartbeat)

    def __repr__(self):
        return '<TaskSpec %s %s>' % (self.kind, self.dep)


def check_transport(transport):
    if transport is None:
        return JSON
    if not (callable(getattr(transport, 'dumps', None))
            and callable(getattr(transport, 'loads', None))):
        raise TypeError('a transport needs dumps(value) -> str and loads(text) -> value '
                        'methods; got %r' % (transport,))
    return transport


def check_seconds(name, value):
    """``value`` if it is None or a positive finite number of seconds; else raise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError('%s must be a number of seconds (or None for no limit); got %r'
                        % (name, value))
    if not 0 < value < float('inf'):
        raise ValueError('%s must be a positive, finite number of seconds (or None for no '
                         'limit); got %r' % (name, value))
    return value


def _check_retry(retry):
    try:
        retry = tuple(retry)
    except TypeError:
        raise TypeError('retry must be a sequence with one delay in seconds per attempt, '
                        'e.g. retry=(0, 10, 60); got %r' % (retry,)) from None
    if not retry:
        raise ValueError('retry needs at least one attempt, e.g. retry=(0,)')
    for delay in retry:
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not delay >= 0:
            raise ValueError('retry delays must be finite numbers of seconds >= 0; got %r'
                             % (retry,))
        if delay == float('inf'):
            raise ValueError('retry delays must be finite numbers of seconds >= 0; got %r'
                             % (retry,))
    return retry


class WorkflowConfig:
    """A workflow factory and the tasks its constructor receives, by keyword name."""

    def __init__(self, factory, transport=None):
        if not callable(factory):
            raise TypeError('a workflow factory must be callable (a class, or a function '
                            'returning the body); got %r' % (factory,))
        self.factory = factory
        self.transport = check_transport(transport)
        self.specs = {}

    @property
    def name(self):
        return getattr(self.factory, '__qualname__', None) or repr(self.factory)

    def _add_task(self, spec):
        dep = spec.dep
        if not isinstance(dep, str) or not dep.isidentifier() or keyword.iskeyword(dep):
            raise ValueError(
                'invalid dependency name %r: use the name of the factory parameter that '
                'receives the task (letters, digits and _, not starting with a digit, not a '
                'Python keyword)' % (dep,))
        if dep in self.specs:
            raise ValueError('dependency %r is configured twice in %r; give each task its '
                             'own name' % (dep, self))
        self.specs[dep] = spec

    def check_factory(self):
        """Raise a clear error if the factory cannot take the configured dependencies."""
        try:
            signature = inspect.signature(self.factory)
        except (TypeError, ValueError):
            return  # builtins and the like: the call itself will tell
        try:
            signature.bind(**dict.fromkeys(self.specs))
        except TypeError as exc:
            params = ', '.join(signature.parameters) or 'nothing'
            raise TypeError(
                '%s cannot be built with the configured dependencies (%s): %s. It takes: '
                '%s' % (self.name, ', '.join(self.specs) or 'none', exc, params)) from None

    def encode_input(self, args, kwargs):
        return self.transport.dumps([list(args), kwargs])

    def decode_input(self, data):
        args, kwargs = self.transport.loads(data)
        return args, kwargs

    def __repr__(self):
        deps = sorted(self.specs)
        shown = ','.join(deps[:5])
        if len(deps) > 5:
            shown += '... and %d more' % (len(deps) - 5)
        return '<%s %s deps=%s>' % (type(self).__name__, self.name, shown)
