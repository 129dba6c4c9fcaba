"""Every exception class of the SWF engine and its command is a FlowyError; the ones
callers catch as ValueError or LookupError still are."""

import importlib
import inspect
import pkgutil

import pytest

import flowy.swf
from flowy import FlowyError
from flowy.swf.client import error_code, error_message
from flowy.swf.decisions import TooManyDecisions
from flowy.swf.events import HistoryError
from flowy.swf.payload import PayloadError, PayloadMissing, PayloadTooLarge
from flowy.swf.status import UnknownExecution


def swf_modules():
    names = ['flowy.swf']
    for found in pkgutil.walk_packages(flowy.swf.__path__, 'flowy.swf.'):
        names.append(found.name)
    return [importlib.import_module(name) for name in names]


def exception_classes():
    found = {}
    for module in swf_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith('flowy.swf'):
                found['%s.%s' % (cls.__module__, cls.__qualname__)] = cls
    return found


EXCEPTIONS = exception_classes()


def test_the_engine_has_exceptions_to_check():
    assert {'flowy.swf.payload.PayloadError', 'flowy.swf.events.HistoryError',
            'flowy.swf.history.SWFFailure', 'flowy.swf.decisions.TooManyDecisions',
            'flowy.swf.cli.errors.CommandLineError'} <= set(EXCEPTIONS)


@pytest.mark.parametrize('name', sorted(EXCEPTIONS))
def test_every_exception_is_a_flowy_error(name):
    assert issubclass(EXCEPTIONS[name], FlowyError)


@pytest.mark.parametrize('cls, mixin', [
    (PayloadError, ValueError), (PayloadTooLarge, ValueError), (PayloadMissing, ValueError),
    (HistoryError, ValueError), (TooManyDecisions, ValueError),
    (UnknownExecution, LookupError)])
def test_the_builtin_kinds_callers_catch_are_kept(cls, mixin):
    assert issubclass(cls, mixin)


class Refused(Exception):
    response = {'Error': {'Code': 'UnknownResourceFault', 'Message': 'Unknown domain'}}


class Broken(Exception):
    response = {'Error': None}

    def __str__(self):
        raise RuntimeError('no text')


def test_error_code_and_message_of_aws_errors_and_others():
    assert (error_code(Refused()), error_message(Refused())) == ('UnknownResourceFault',
                                                                 'Unknown domain')
    assert (error_code(ValueError('bad')), error_message(ValueError('bad'))) == (None, 'bad')
    assert (error_code(Broken()), error_message(Broken())) == (None, 'Broken')
