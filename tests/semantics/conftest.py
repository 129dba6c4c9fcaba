"""The ``engine`` fixture: every semantics test runs on every engine.

``--engine=NAME`` (declared in ``tests/conftest.py``) restricts the suite to one engine;
tests marked ``engine_only(NAME)`` then run only when NAME is selected (or no engine
is).  This directory is put on ``sys.path`` so that the helper modules (``sem_*.py``)
import by name, here and in process-pool workers.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from sem_harness import ENGINE_CLASSES, make_engine  # noqa: E402


def selected_engines(config):
    chosen = config.getoption('engine', default=None)
    return (chosen,) if chosen else tuple(ENGINE_CLASSES)


def pytest_generate_tests(metafunc):
    if 'engine' in metafunc.fixturenames:
        metafunc.parametrize('engine', selected_engines(metafunc.config), indirect=True)


@pytest.fixture
def engine(request):
    return make_engine(request.param)


def pytest_collection_modifyitems(config, items):
    chosen = config.getoption('engine', default=None)
    if not chosen:
        return
    for item in items:
        marker = item.get_closest_marker('engine_only')
        if marker is not None and marker.args[0] != chosen:
            item.add_marker(pytest.mark.skip(
                reason='tests the %s engine only; --engine=%s' % (marker.args[0], chosen)))
