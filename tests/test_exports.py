"""flowy's public names: exactly the expected list, all importable, documented, and with
exceptions that present themselves as ``flowy.X``."""

import inspect
import subprocess
import sys

import pytest

import flowy

EXPECTED_ALL = [
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

EXCEPTIONS = ['FlowyError', 'TaskError', 'TaskTimedout', 'TaskCancelled', 'NondeterminismError',
              'UsageError',
              'SWFRegistrationError']


def test_all_is_exactly_the_expected_list():
    assert flowy.__all__ == EXPECTED_ALL


def test_all_has_no_duplicates():
    assert len(set(flowy.__all__)) == len(flowy.__all__)


@pytest.mark.parametrize('name', EXPECTED_ALL)
def test_every_name_resolves(name):
    assert getattr(flowy, name) is not None


def test_star_import_gives_exactly_all():
    namespace = {}
    exec('from flowy import *', namespace)  # noqa: S102 - a literal, to test star import
    namespace.pop('__builtins__')
    assert sorted(namespace) == sorted(EXPECTED_ALL)


def test_exception_classes_are_exactly_the_expected_ones():
    exported = sorted(name for name in flowy.__all__
                      if inspect.isclass(getattr(flowy, name))
                      and issubclass(getattr(flowy, name), BaseException))
    assert exported == sorted(EXCEPTIONS)


@pytest.mark.parametrize('name', EXCEPTIONS)
def test_exception_module_is_flowy(name):
    cls = getattr(flowy, name)
    assert cls.__module__ == 'flowy'
    assert issubclass(cls, flowy.FlowyError)


def test_exception_hierarchy():
    assert issubclass(flowy.TaskTimedout, flowy.TaskError)
    assert issubclass(flowy.TaskError, Exception)
    assert not issubclass(flowy.NondeterminismError, flowy.TaskError)


@pytest.mark.parametrize('name', EXPECTED_ALL)
def test_every_public_name_has_a_docstring(name):
    # __doc__ itself: inspect.getdoc() would accept a docstring inherited from a base class
    doc = getattr(flowy, name).__doc__
    assert doc and doc.strip(), '%s has no docstring' % name


def test_package_has_a_docstring_and_version():
    assert flowy.__doc__ and flowy.__doc__.strip()
    assert isinstance(flowy.__version__, str) and flowy.__version__


def test_swf_names_load_on_first_use_without_boto3():
    code = ('import sys, flowy; assert "flowy.swf" not in sys.modules; '
            'flowy.SWFWorkflowWorker, flowy.SWFActivityWorker, flowy.SWFWorkflowStarter; '
            'flowy.SWFClient(); assert "flowy.swf" in sys.modules; '
            'assert "boto3" not in sys.modules, "boto3 loaded before a client was used"')
    subprocess.run([sys.executable, '-c', code], check=True, timeout=60)
