"""flowy.swf.control.SWFExecutions (and the starter's signal/cancel/terminate) on a stub
client: what they send, and the clear errors for bad input."""

import pytest
from botocore.exceptions import ClientError

from flowy.serialization import loads
from flowy.swf.control import ControlError, SWFExecutions, UnknownExecution
from flowy.swf.payload import InMemoryPayloadStore, PayloadTooLarge, is_reference
from flowy.swf.starter import SWFWorkflowStarter


class Stub:
    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def _call(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        if self.error is not None:
            raise self.error

    def signal_workflow_execution(self, *args, **kwargs):
        self._call('signal', *args, **kwargs)

    def request_cancel_workflow_execution(self, *args, **kwargs):
        self._call('cancel', *args, **kwargs)

    def terminate_workflow_execution(self, *args, **kwargs):
        self._call('terminate', *args, **kwargs)


def fault(code, message='no'):
    return ClientError({'Error': {'Code': code, 'Message': message}}, 'Op')


def test_signal_cancel_terminate_send_what_swf_takes():
    stub = Stub()
    runs = SWFExecutions('dom', stub)
    runs.signal('wf-1', 'approve', {'by': ('ann', 1)}, run_id='r-1')
    runs.cancel('wf-1')
    runs.terminate('wf-1', reason='x' * 300, details='why')
    name, args, kwargs = stub.calls[0]
    assert (name, args, kwargs['run_id']) == ('signal', ('dom', 'wf-1', 'approve'), 'r-1')
    assert loads(kwargs['input']) == {'by': ('ann', 1)}  # flowy's transport
    assert stub.calls[1] == ('cancel', ('dom', 'wf-1'), {'run_id': None})
    name, args, kwargs = stub.calls[2]
    assert name == 'terminate' and len(kwargs['reason']) == 256 and kwargs['details'] == 'why'


def test_the_starter_reaches_its_runs_with_its_transport_and_store():
    stub = Stub()
    store = InMemoryPayloadStore(threshold=10)
    starter = SWFWorkflowStarter('dom', 'Flow', '1', swf_client=stub, payload_store=store)
    starter.signal('wf-1', 'big', 'x' * 100)
    starter.cancel('wf-1', run_id='r')
    starter.terminate('wf-1')
    assert is_reference(stub.calls[0][2]['input'])
    assert [call[0] for call in stub.calls] == ['signal', 'cancel', 'terminate']


@pytest.mark.parametrize('name, error', [('', ValueError), ('a\x00', ValueError),
                                         ('x' * 257, ValueError), (3, TypeError)])
def test_bad_signal_names_are_refused_before_any_call(name, error):
    stub = Stub()
    with pytest.raises(error, match='signal name'):
        SWFExecutions('dom', stub).signal('wf-1', name)
    assert stub.calls == []


def test_a_value_the_transport_cannot_encode_is_a_type_error():
    stub = Stub()
    with pytest.raises(TypeError, match="cannot send .* as the value of signal 'go'"):
        SWFExecutions('dom', stub).signal('wf-1', 'go', object())
    assert stub.calls == []


def test_a_value_too_large_without_a_store_is_refused():
    with pytest.raises(PayloadTooLarge, match="signal 'go'"):
        SWFExecutions('dom', Stub()).signal('wf-1', 'go', 'x' * 40000)


def test_a_bad_workflow_id_is_refused():
    with pytest.raises(ValueError, match='workflow id'):
        SWFExecutions('dom', Stub()).cancel('a:b')


def test_swf_errors_are_clear():
    runs = SWFExecutions('dom', Stub(fault('UnknownResourceFault')))
    with pytest.raises(UnknownExecution, match='cannot signal wf-1: no open execution'):
        runs.signal('wf-1', 'go')
    with pytest.raises(UnknownExecution, match=r'cannot cancel wf-1 \(run r-1\)'):
        runs.cancel('wf-1', run_id='r-1')
    runs = SWFExecutions('dom', Stub(fault('OperationNotPermittedFault', 'denied')))
    with pytest.raises(ControlError, match='OperationNotPermittedFault: denied'):
        runs.terminate('wf-1')
    runs = SWFExecutions('dom', Stub(ConnectionError('down')))
    with pytest.raises(ConnectionError):
        runs.cancel('wf-1')
