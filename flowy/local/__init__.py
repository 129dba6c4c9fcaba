"""The local engine: run workflows on one machine, activities on threads or processes."""

from .pools import close_all
from .tracer import Tracer
from .workflow import LocalWorkflow

__all__ = ['LocalWorkflow', 'Tracer', 'close_all']
