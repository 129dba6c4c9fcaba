"""flowy: workflows written as ordinary Python, run in parallel by inferring dependencies.

A workflow is a class (or any factory) whose constructor receives one *task* per
dependency.  Calling a task returns a lazy result at once; flowy starts every call whose
arguments are ready, and the body only waits where it uses a value.  The same class runs
as plain Python (pass real functions), on the local engine (:class:`LocalWorkflow`) or
on Amazon SWF (the ``SWF*`` names, loaded on first use so that ``import flowy`` stays
light; boto3 itself is imported only when a client is made).
"""

import importlib

from .effects import cancel, context, marker, now, sleep, wait_signal
from .errors import (
    FlowyError,
    NondeterminismError,
    TaskCancelled,
    TaskError,
    TaskTimedout,
    UsageError,
)
from .heartbeat import heartbeat
from .local import LocalWorkflow
from .operations import finish_order, first, parallel_reduce, restart, wait
from .run_context import Context

__all__ = [
    'LocalWorkflow',
    'parallel_reduce',
    'first',
    'finish_order',
    'wait',
    'restart',
    'heartbeat',
    'sleep',
    'now',
    'wait_signal',
    'marker',
    'cancel',
    'context',
    'Context',
    'FlowyError',
    'TaskError',
    'TaskTimedout',
    'TaskCancelled',
    'NondeterminismError',
    'UsageError',
    'SWFActivityConfig',
    'SWFWorkflowConfig',
    'SWFActivityWorker',
    'SWFWorkflowWorker',
    'SWFWorkflowStarter',
    'SWFClient',
    'SWFRegistrationError',
]

_SWF_MODULES = {
    'SWFActivityConfig': 'flowy.swf.config',
    'SWFWorkflowConfig': 'flowy.swf.config',
    'SWFRegistrationError': 'flowy.swf.config',
    'SWFActivityWorker': 'flowy.swf.activity',
    'SWFWorkflowWorker': 'flowy.swf.decider',
    'SWFWorkflowStarter': 'flowy.swf.starter',
    'SWFClient': 'flowy.swf.client',
}


def __getattr__(name):
    module = _SWF_MODULES.get(name)
    if module is None:
        raise AttributeError('module %r has no attribute %r' % (__name__, name))
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_SWF_MODULES))

__version__ = '0.5.0.dev0'
