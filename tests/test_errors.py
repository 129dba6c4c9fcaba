"""One error tree: every public exception class flowy defines derives from FlowyError.

Users catch ``flowy.FlowyError`` to catch anything flowy raises itself; mixins such as
``ValueError`` or ``LookupError`` stay where callers expect them.  Only the body's
suspension signal stands outside, by design (see SuspendTask); warning categories are
not errors and derive from ``Warning``.
"""

import importlib
import inspect

import pytest
from test_layering import all_modules

import flowy
from flowy.errors import exception_line, exception_text
from flowy.result import SuspendTask

# Not errors: control flow that a workflow body must not catch with ``except Exception``.
OUTSIDE_THE_TREE = {SuspendTask}


def defined_exceptions():
    found = []
    for module_name, _ in all_modules():
        if module_name == 'flowy.__main__':
            continue
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (not name.startswith('_') and inspect.isclass(value)
                    and issubclass(value, BaseException) and not issubclass(value, Warning)
                    and value.__module__ in (module_name, 'flowy')
                    and value not in OUTSIDE_THE_TREE
                    and not any(value is other for _, other in found)):
                found.append(('%s.%s' % (module_name, name), value))
    return found


EXCEPTIONS = defined_exceptions()


def test_there_are_exceptions_to_check():
    names = {name.rpartition('.')[2] for name, _ in EXCEPTIONS}
    assert {'TaskError', 'HistoryError', 'PayloadError', 'TooManyDecisions'} <= names


@pytest.mark.parametrize('name, cls', EXCEPTIONS, ids=[name for name, _ in EXCEPTIONS])
def test_every_exception_derives_from_flowy_error(name, cls):
    assert issubclass(cls, flowy.FlowyError), '%s does not derive from FlowyError' % name


def test_usage_mistakes_are_type_errors():
    assert issubclass(flowy.UsageError, TypeError)
    assert issubclass(flowy.UsageError, flowy.FlowyError)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError('no text for you')


def test_describing_an_exception_never_fails():
    assert exception_text(Unprintable()) == 'Unprintable'
    assert exception_line(Unprintable()) == 'Unprintable'
    assert exception_text(ValueError('bad')) == 'bad'
    assert exception_line(ValueError('bad')) == 'ValueError: bad'
    assert exception_text(SystemExit()) == 'SystemExit'
    assert exception_line(SystemExit(3)) == 'SystemExit: 3'
