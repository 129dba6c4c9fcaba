"""The local engine: run workflows on one machine, activities on threads or processes."""

from .engine import RunEnded
from .handle import RunHandle
from .pools import close_all
from .tracer import Tracer
from .workflow import LocalWorkflow

__all__ = ['LocalWorkflow', 'RunHandle', 'RunEnded', 'Tracer', 'close_all']
