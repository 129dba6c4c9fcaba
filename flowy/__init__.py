"""flowy: workflows written as ordinary Python, run in parallel by inferring dependencies.

A workflow is a class (or any factory) whose constructor receives one *task* per
dependency.  Calling a task returns a lazy result at once; flowy starts every call whose
arguments are ready, and the body only waits where it uses a value.  The same class runs
as plain Python (pass real functions) or on the local engine (:class:`LocalWorkflow`);
an Amazon SWF engine is planned.
"""

from .errors import FlowyError, NondeterminismError, TaskError, TaskTimedout
from .execution import restart
from .heartbeat import heartbeat
from .local import LocalWorkflow
from .operations import finish_order, first, parallel_reduce, wait

__all__ = [
    'LocalWorkflow',
    'parallel_reduce',
    'first',
    'finish_order',
    'wait',
    'restart',
    'heartbeat',
    'FlowyError',
    'TaskError',
    'TaskTimedout',
    'NondeterminismError',
]

__version__ = '0.5.0.dev0'
