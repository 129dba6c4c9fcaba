"""``flowy signal``, ``flowy cancel``, ``flowy terminate`` and the markers and signals
``flowy status`` shows, against a moto server (tests/swf/moto_ext.py)."""

import json

import pytest
from test_cli import DOMAIN, boto3_client, run, server  # noqa: F401 - a fixture

from flowy.serialization import dumps

pytestmark = pytest.mark.usefixtures('server')


def start(client, workflow_id):
    return client.start_workflow_execution(domain=DOMAIN, workflowId=workflow_id,
                                           workflowType={'name': 'Flow', 'version': '1'},
                                           input='[[], {}]')['runId']


def history(client, workflow_id, run_id):
    return client.get_workflow_execution_history(
        domain=DOMAIN, execution={'workflowId': workflow_id, 'runId': run_id})['events']


@pytest.mark.parametrize('command', ['signal', 'cancel', 'terminate'])
def test_every_control_command_has_help_with_examples(capsys, command):
    status, out, err = run(capsys, command, '--help')
    assert status == 0 and err == ''
    assert 'examples:\n  flowy %s my-domain' % command in out


def test_signal_cancel_terminate(capsys, server):  # noqa: F811
    client = boto3_client(server)
    run_id = start(client, 'w-1')
    status, out, err = run(capsys, 'signal', '--endpoint-url', server, DOMAIN, 'w-1',
                           'approve', '{"by": "ann"}')
    assert status == 0, err
    assert out.strip() == 'signal approve sent to w-1'
    status, out, err = run(capsys, 'signal', '--endpoint-url', server, DOMAIN, 'w-1', 'ping',
                           '--run-id', run_id)
    assert status == 0, err
    signals = [event['workflowExecutionSignaledEventAttributes'] for event in
               history(client, 'w-1', run_id) if event['eventType'] == 'WorkflowExecutionSignaled']
    assert [(s['signalName'], json.loads(s['input'])) for s in signals] == [
        ('approve', {'by': 'ann'}), ('ping', None)]
    status, out, err = run(capsys, 'cancel', '--endpoint-url', server, DOMAIN, 'w-1')
    assert status == 0 and out.strip() == 'cancellation requested for w-1'
    assert 'WorkflowExecutionCancelRequested' in [
        event['eventType'] for event in history(client, 'w-1', run_id)]
    status, out, err = run(capsys, 'terminate', '--endpoint-url', server, DOMAIN, 'w-1',
                           '--reason', 'stuck')
    assert status == 0 and out.strip() == 'w-1 terminated'
    closing = history(client, 'w-1', run_id)[-1]
    assert closing['eventType'] == 'WorkflowExecutionTerminated'
    assert closing['workflowExecutionTerminatedEventAttributes']['reason'] == 'stuck'


@pytest.mark.parametrize('command', [['signal', 'w-9', 'go'], ['cancel', 'w-9'],
                                     ['terminate', 'w-9']])
def test_an_execution_that_is_not_open_fails_with_one_line(capsys, server, command):  # noqa
    status, _, err = run(capsys, command[0], '--endpoint-url', server, DOMAIN, *command[1:])
    assert status == 1
    assert 'no open execution with that id' in err and 'Traceback' not in err


def test_a_bad_signal_name_fails_with_one_line(capsys, server):  # noqa: F811
    start(boto3_client(server), 'w-2')
    status, _, err = run(capsys, 'signal', '--endpoint-url', server, DOMAIN, 'w-2', 'a\x01b')
    assert status == 1 and 'control characters' in err


def test_status_shows_markers_and_signals(capsys, server):  # noqa: F811
    client = boto3_client(server)
    run_id = start(client, 'w-3')
    client.signal_workflow_execution(domain=DOMAIN, workflowId='w-3', signalName='go',
                                     input=dumps([1, 2]))
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={'name': 'decisions'})
    details = json.dumps({'key': '@marker-0', 'position': 0, 'value': dumps({'step': 2})})
    client.respond_decision_task_completed(taskToken=task['taskToken'], decisions=[{
        'decisionType': 'RecordMarker',
        'recordMarkerDecisionAttributes': {'markerName': 'progress', 'details': details}}])
    status, out, _ = run(capsys, 'status', '--endpoint-url', server, DOMAIN, 'w-3')
    assert status == 0
    assert 'signal:        go = [1, 2]' in out
    assert 'marker:        progress (@marker-0) = {"step": 2}' in out
    status, out, _ = run(capsys, 'status', '--endpoint-url', server, DOMAIN, 'w-3',
                         '--run-id', run_id, '--json')
    info = json.loads(out)
    assert [(m['name'], m['key'], m['value']) for m in info['markers']] == [
        ('progress', '@marker-0', {'step': 2})]
    assert [(s['name'], s['value']) for s in info['signals']] == [('go', [1, 2])]
