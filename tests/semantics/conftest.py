"""The ``engine`` fixture: every semantics test runs on every engine.

``--engine=NAME`` (declared in ``tests/conftest.py``) restricts the suite to one engine;
tests marked ``engine_only(NAME)`` then run only when NAME is selected (or no engine
is).  A test marked ``engine_xfail(NAME, reason=...)`` shows a known bug of engine NAME
(and of the engines that take NAME's expectations): it must fail there.  This directory
is put on ``sys.path`` so that the helper modules (``sem_*.py``) import by name, here
and in process-pool workers.

The SWF engines (``swf``, ``swf_replay``) of a test module share one in-process moto:
the module-scoped ``swf_runtime`` (``sem_swf.py``).

``gates`` makes gate files that hold calls back until another call opens them (see
``sem_activities``), on the engines that run calls side by side.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import sem_activities  # noqa: E402
from sem_harness import ENGINE_CLASSES, SWFEngine, make_engine  # noqa: E402


def selected_engines(config):
    chosen = config.getoption('engine', default=None)
    return (chosen,) if chosen else tuple(ENGINE_CLASSES)


def pytest_generate_tests(metafunc):
    if 'engine' in metafunc.fixturenames:
        metafunc.parametrize('engine', selected_engines(metafunc.config), indirect=True)


@pytest.fixture(scope='module')
def swf_runtime():
    """One in-process moto SWF for the SWF engines of a module (see ``sem_swf.py``).

    Its worker threads run only during the SWF tests (the engine stops them after each);
    the mock is left when the module is done.
    """
    pytest.importorskip('moto', reason='the SWF engines run on moto (the test extra)')
    from sem_swf import SWFRuntime

    runtime = SWFRuntime()
    yield runtime
    runtime.close()


class Gates:
    """Gate files in ``directory``, or None for every gate when there is no directory."""

    def __init__(self, directory):
        self.directory = directory
        self.made = []

    def new(self):
        if self.directory is None:
            return None
        gate = os.path.join(self.directory, 'gate-%d' % len(self.made))
        self.made.append(gate)
        return gate

    def open_all(self):
        for gate in self.made:
            sem_activities.release(gate)


@pytest.fixture
def gates(engine, tmp_path):
    """Gates for this test's engine; those still closed are opened when the test ends,
    so that a call held past the end of its run returns before the pools close."""
    made = Gates(str(tmp_path) if engine.concurrent else None)
    yield made
    made.open_all()


@pytest.fixture
def engine(request):
    if issubclass(ENGINE_CLASSES[request.param], SWFEngine):
        made = make_engine(request.param, runtime=request.getfixturevalue('swf_runtime'))
    else:
        made = make_engine(request.param)
    yield made
    made.close()


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, 'callspec', None)
        name = callspec.params.get('engine') if callspec is not None else None
        if name not in ENGINE_CLASSES:
            continue
        for marker in item.iter_markers('engine_xfail'):
            if marker.args[0] in (name, ENGINE_CLASSES[name].alias):
                item.add_marker(pytest.mark.xfail(
                    strict=True, raises=marker.kwargs.get('raises'),
                    reason='%s engine: %s' % (name, marker.kwargs['reason'])))
    chosen = config.getoption('engine', default=None)
    if not chosen:
        return
    for item in items:
        marker = item.get_closest_marker('engine_only')
        if marker is not None and marker.args[0] != chosen:
            item.add_marker(pytest.mark.skip(
                reason='tests the %s engine only; --engine=%s' % (marker.args[0], chosen)))
