"""Drivers: turn a workflow's history into its next decision.

:func:`~flowy.drivers.replay.replay` runs the body from the top against the whole
history and stops at the first value that is not known yet: stateless, the reference
semantics.  :class:`~flowy.drivers.cached.CachedDriver` keeps each body alive between
decisions and feeds it only the new outcomes.  Both produce the same decision for every
history.  Engines call a driver; drivers never import an engine.
"""

from .cached import CachedDriver
from .replay import replay

__all__ = ['replay', 'CachedDriver']
