"""Task proxies: what a workflow factory receives for each of its dependencies."""

__all__ = ['TaskProxy']


class TaskProxy:
    """The callable a workflow factory receives for one dependency.

    Calling it makes a call of the task through ``resolver`` (the driver activation
    running the body, see :class:`~flowy.result.Resolver`) and returns a lazy result.
    ``spec`` is the :class:`~flowy.config.TaskSpec` of the dependency.
    """

    __slots__ = ('resolver', 'spec')

    def __init__(self, resolver, spec):
        self.resolver = resolver
        self.spec = spec

    def __call__(self, *args, **kwargs):
        return self.resolver.call(self.spec, args, kwargs)

    def __repr__(self):
        return '<task %s>' % self.spec.dep
