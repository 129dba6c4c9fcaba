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


def test_a_task_error_keeps_its_call_type_reason_and_traceback_through_pickle_and_clone():
    import pickle

    from flowy.errors import failed_call_text

    text = failed_call_text('parse-2-0', 'bad', 'ValueError')
    assert text == 'parse-2-0 failed: ValueError: bad'
    error = flowy.TaskError('bad', 'parse-2-0', 'ValueError', 'Traceback ...', text)
    for copy in (pickle.loads(pickle.dumps(error)), error._clone()):
        assert (str(copy), copy.key, copy.type_name, copy.reason, copy.traceback) == (
            text, 'parse-2-0', 'ValueError', 'bad', 'Traceback ...')
    plain = flowy.TaskError('just a reason')  # as before: the text is the reason
    assert (str(plain), plain.key, plain.type_name, plain.traceback) == (
        'just a reason', None, None, None)
    # the type is not repeated when the reason is it, or already starts with it
    assert failed_call_text('k-0-0', 'ValueError', 'ValueError') == 'k-0-0 failed: ValueError'
    assert failed_call_text('k-0-0', 'SystemExit: 2', 'SystemExit') == (
        'k-0-0 failed: SystemExit: 2')
    assert failed_call_text('k-0-0', 'no type') == 'k-0-0 failed: no type'


def test_what_a_failure_is_described_with_on_each_engine():
    from flowy.errors import describe_failure

    def raised():
        try:
            raise KeyError('x')
        except KeyError as exc:
            return exc

    exc = raised()  # threads: the exception itself, its traceback formatted when asked
    type_name, traceback = describe_failure(exc)
    assert type_name == 'KeyError' and traceback is exc
    error = flowy.TaskError('x', 'k-0-0', type_name, traceback)
    assert error.traceback.startswith('Traceback') and "raise KeyError('x')" in error.traceback

    class Remote(Exception):  # a worker process's traceback text, as the rebuilt one's cause
        remote_traceback = 'Traceback (remote)'

    rebuilt = ValueError('v')
    rebuilt.__cause__ = Remote()
    assert describe_failure(rebuilt) == ('ValueError', 'Traceback (remote)')

    class Recorded(Exception):  # a run store's record, SWF's event
        remote_type, remote_traceback = 'OSError', 'Traceback (recorded)'

    assert describe_failure(Recorded()) == ('OSError', 'Traceback (recorded)')
    # flowy's own error for a call (a child workflow, a call that could not start)
    assert describe_failure(flowy.TaskError('child broke', 'child-0-0')) == (None, None)
    # an activity that raised a TaskError of its own: its type, as any exception's
    assert describe_failure(flowy.TaskError('mine'))[0] == 'TaskError'
    assert describe_failure(None) == (None, None)
