"""Task proxies: what a workflow factory receives for each of its dependencies."""

__all__ = ['TaskProxy']


class TaskProxy:
    """The callable a workflow factory receives for one dependency."""

    __slots__ = ('_execution', '_spec')

    def __init__(self, execution, spec):
        self._execution = execution
        self._spec = spec

    def __call__(self, *args, **kwargs):
        return self._execution.call(self._spec, args, kwargs)

    def __repr__(self):
        return '<task %s>' % self._spec.dep
