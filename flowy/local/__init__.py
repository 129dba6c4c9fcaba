"""The local engine: run workflows on one machine, activities on threads or processes."""

from .engine import LocalWorkflow
from .tracer import Tracer

__all__ = ['LocalWorkflow', 'Tracer']
