"""Engine-agnostic workflow configuration: the factory and what its dependencies are.

Engines subclass :class:`WorkflowConfig` (``LocalWorkflow``, later the SWF config) and add
tasks through :meth:`WorkflowConfig._add_task`, which checks dependency names once, here.
"""

import difflib
import inspect
import keyword

from .serialization import JSON

__all__ = ['ACTIVITY', 'WORKFLOW', 'TaskSpec', 'WorkflowConfig', 'check_seconds',
           'check_transport', 'encode_arguments']

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
    """A workflow factory and the tasks its constructor receives, by keyword name.

    ``factory`` builds the workflow body from its tasks, passed by keyword (usually the
    workflow class: its ``__init__`` takes the tasks, its ``__call__`` is the body);
    ``transport`` encodes the workflow's input and result (tagged JSON by default: any
    object with ``dumps(value) -> str`` and ``loads(text) -> value``).

    Mistakes are reported where they are made: a dependency the factory does not take
    when it is configured, arguments the body does not take before a run starts.
    """

    def __init__(self, factory, transport=None):
        if not callable(factory):
            raise TypeError('a workflow factory must be callable (a class, or a function '
                            'returning the body); got %r' % (factory,))
        self.factory = factory
        self.transport = check_transport(transport)
        self.specs = {}

    @property
    def name(self):
        """The workflow's name: the factory's qualified name."""
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
        names = self._dependency_names()
        if names is not None and dep not in names:
            close = difflib.get_close_matches(dep, names, n=1)
            raise TypeError('the workflow %s takes no dependency %r: %s' % (
                self.name, dep, 'did you mean %r?' % close[0] if close else
                'it takes %s' % (', '.join(repr(name) for name in names) or 'none')))
        self.specs[dep] = spec

    def _dependency_names(self):
        """The names the factory takes by keyword, or None if it takes any (or is opaque)."""
        signature = _signature(self.factory)
        if signature is None:
            return None
        names = []
        for parameter in signature.parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                return None
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.append(parameter.name)
        return names

    def _body_signature(self):
        """The signature of the body, when the factory is a class with a ``__call__``.

        A factory that is a function returns a body nobody can see before it runs: None.
        """
        factory = self.factory
        if not inspect.isclass(factory):
            return None
        try:
            method = inspect.getattr_static(factory, '__call__')
        except AttributeError:
            return None
        if isinstance(method, staticmethod):
            return _signature(method.__func__)
        if not inspect.isfunction(method):
            return None
        signature = _signature(method)
        if signature is None or not signature.parameters:
            return None
        parameters = list(signature.parameters.values())
        if parameters[0].kind not in (parameters[0].POSITIONAL_ONLY,
                                      parameters[0].POSITIONAL_OR_KEYWORD):
            return None  # def __call__(*args): the instance is in args
        return signature.replace(parameters=parameters[1:])

    def _check_arguments(self, args, kwargs, call='run()'):
        """Raise TypeError, naming the workflow, if the body cannot take these arguments."""
        signature = self._body_signature()
        if signature is None:
            return
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError('%s of the workflow %s: %s (its body takes %s)'
                            % (call, self.name, exc, _parameters(signature))) from None

    def _encode_arguments(self, args, kwargs, call='run()'):
        """The encoded input of ``call`` with these arguments.

        An argument that cannot be encoded is named as the caller wrote it (``argument 2
        of run()``, ``keyword argument 'x' of run()``), not by its place in the encoded
        input.
        """
        return encode_arguments(self.transport, args, kwargs, call)

    def _check_factory(self):
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

    def _encode_input(self, args, kwargs):
        """The workflow's input as it travels: ``[args, kwargs]`` in its transport."""
        return self.transport.dumps([list(args), kwargs])

    def _decode_input(self, data):
        """``(args, kwargs)`` from an input made by :meth:`_encode_input`."""
        args, kwargs = self.transport.loads(data)
        return args, kwargs

    def __repr__(self):
        deps = sorted(self.specs)
        shown = ','.join(deps[:5])
        if len(deps) > 5:
            shown += '... and %d more' % (len(deps) - 5)
        return '<%s %s deps=%s>' % (type(self).__name__, self.name, shown)


def encode_arguments(transport, args, kwargs, call='run()'):
    """``[args, kwargs]`` encoded with ``transport``: the input of a workflow run.

    An argument that cannot be encoded is named as the caller of ``call`` wrote it
    (``argument 2 of run(): cannot serialize an object at [1]['x']: ...``, ``keyword
    argument 'x' of run(): ...``), not by its place in the encoded input.
    """
    try:
        return transport.dumps([list(args), kwargs])
    except (TypeError, ValueError) as exc:
        error = exc
    places = [('argument %d of %s' % (index, call), value)
              for index, value in enumerate(args, 1)]
    places += [('keyword argument %r of %s' % (name, call), value)
               for name, value in kwargs.items()]
    for where, value in places:
        try:
            transport.dumps(value)
        except (TypeError, ValueError) as exc:
            text = str(exc).replace(' at the top level', '', 1).replace(
                'configure a different transport for this task',
                'give the workflow another transport (transport=...)')
            raise type(exc)('%s: %s' % (where, text)) from exc
        except Exception:
            raise error from None
    raise error


def _signature(function):
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):
        return None  # builtins and the like: the call itself will tell


def _parameters(signature):
    text = str(signature)
    return 'no arguments' if text == '()' else text
