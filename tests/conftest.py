"""Shared pytest set-up: the ``--engine`` option and an importable ``tests`` directory.

Test helpers such as ``engines.py`` live beside the tests and are imported by their
module name; this directory is put on ``sys.path`` explicitly so that this works under
every import mode, and in the worker processes of a process pool (which inherit it).
"""

import os
import sys

import pytest

from flowy.local import close_all

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

ENGINES = ('sequential', 'replay', 'cached', 'threads', 'threads_replay', 'processes', 'swf',
           'swf_replay')


def pytest_addoption(parser):
    parser.addoption(
        '--engine', action='store', default=None, choices=ENGINES,
        help='run the engine-parametrized semantics suite (tests/semantics) on this '
             'engine only: %s' % ', '.join(ENGINES))


@pytest.fixture(autouse=True)
def close_local_pools():
    """LocalWorkflow keeps its pools between runs; no test leaves them to the next."""
    yield
    close_all()
