"""``flowy list``, ``history``, ``tasks``, ``profile`` and ``restart`` against a moto server
(tests/swf/moto_ext.py), in table, JSON and CSV."""

import csv
import datetime
import io
import json

import pytest
from test_cli import (  # noqa: F401 - a fixture
    DOMAIN,
    SUBPROCESS_TIMEOUT,
    boto3_client,
    complete,
    run,
    server,
    started_event,
)

from flowy.cli_output import call_rows, profile_rows
from flowy.swf.cli.ops import history_rows, parse_when
from flowy.swf.status import list_executions
from flowy.trace_render import TraceCall

NEW = ('list', 'history', 'tasks', 'profile', 'restart')


@pytest.fixture
def moto_filters(monkeypatch):
    """moto's ListClosedWorkflowExecutions compares the closeStatusFilter dict with a
    string and removes from the list it iterates (tags too): filter as SWF does.  The
    moto server runs in this process, so patching its backend class reaches it."""
    from moto.swf.models import SWFBackend

    def list_closed(self, domain_name, tag_filter, close_status_filter, maximum_page_size,
                    reverse_order):
        self._process_timeouts()
        found = [wfe for wfe in self._get_domain(domain_name).workflow_executions
                 if wfe.execution_status == 'CLOSED'
                 and (not tag_filter or tag_filter['tag'] in wfe.tag_list)
                 and (not close_status_filter
                      or close_status_filter['status'] == wfe.close_status)]
        return (found[::-1] if reverse_order else found)[:maximum_page_size]

    monkeypatch.setattr(SWFBackend, 'list_closed_workflow_executions', list_closed)


def start(client, workflow_id, tags=(), name='Flow', input='[[1], {}]'):
    return client.start_workflow_execution(
        domain=DOMAIN, workflowId=workflow_id, workflowType={'name': name, 'version': '1'},
        input=input, tagList=list(tags))['runId']


def fail(client, reason='it broke'):
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={'name': 'decisions'})
    client.respond_decision_task_completed(taskToken=task['taskToken'], decisions=[{
        'decisionType': 'FailWorkflowExecution',
        'failWorkflowExecutionDecisionAttributes': {'reason': reason}}])


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def finished_run(capsys, endpoint, name, *args):
    """Run ``name`` of e2e_workflows with ``flowy run`` in DOMAIN; its workflow id."""
    status, _, err = run(capsys, 'run', '--endpoint-url', endpoint, '--domain', DOMAIN,
                         'e2e_workflows', name, '1', *args, '--timeout',
                         str(SUBPROCESS_TIMEOUT))
    closed = [info for info in boto3_client(endpoint).list_closed_workflow_executions(
        domain=DOMAIN, startTimeFilter={'oldestDate': datetime.datetime(2000, 1, 1)})[
        'executionInfos'] if info['workflowType']['name'] == name]
    return status, max(closed, key=lambda info: info['startTimestamp'])['execution'][
        'workflowId']


@pytest.mark.parametrize('command', NEW)
def test_every_new_command_has_help_with_examples(capsys, command):
    status, out, err = run(capsys, command, '--help')
    assert status == 0 and err == ''
    assert 'examples:\n  flowy %s my-domain' % command in out
    assert '--endpoint-url' in out


def test_times_on_the_command_line(capsys):
    now = datetime.datetime(2024, 5, 3, 12, tzinfo=datetime.timezone.utc)
    assert parse_when('2h', now) == now - datetime.timedelta(hours=2)
    assert parse_when('3d', now) == now - datetime.timedelta(days=3)
    assert parse_when('90s', now) == now - datetime.timedelta(seconds=90)
    assert parse_when('2024-05-01') == datetime.datetime(2024, 5, 1,
                                                         tzinfo=datetime.timezone.utc)
    assert parse_when('2024-05-01T10:30Z').hour == 10
    status, _, err = run(capsys, 'list', 'd', '--since', 'yesterday')
    assert status == 2 and '--since: must be an ISO date' in err


def test_list_filters_and_formats(capsys, server, moto_filters):  # noqa: F811
    client = boto3_client(server)
    start(client, 'done-1', tags=['nightly', 'eu'])
    complete(client, 5)  # the decision task of the only open execution
    start(client, 'failed-1', tags=['eu'])
    fail(client)
    start(client, 'open-1', tags=['nightly'])
    start(client, 'open-2')
    status, out, err = run(capsys, 'list', '--endpoint-url', server, DOMAIN)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ['WORKFLOW', 'ID', 'RUN', 'ID', 'TYPE', 'VERSION', 'STATUS',
                                'STARTED', 'CLOSED', 'DURATION']
    assert sorted(line.split()[0] for line in lines[1:]) == ['open-1', 'open-2']
    assert all(' Flow ' in line and ' OPEN ' in line for line in lines[1:])

    status, out, _ = run(capsys, 'list', '--endpoint-url', server, DOMAIN, '--closed',
                         '--format', 'json')
    found = {row['workflow_id']: row for row in json.loads(out)}
    assert set(found) == {'done-1', 'failed-1'}
    assert found['done-1']['status'] == 'COMPLETED' and found['done-1']['type'] == 'Flow'
    assert found['failed-1']['status'] == 'FAILED'
    assert found['done-1']['tags'] == 'nightly eu' and found['done-1']['duration'] >= 0
    assert found['done-1']['started'].endswith('+00:00')

    for options, expected in (
            (['--closed', '--status', 'FAILED'], ['failed-1']),
            (['--status', 'COMPLETED'], ['done-1']),  # --status implies --closed
            (['--tag', 'nightly'], ['open-1']),
            (['--closed', '--tag', 'eu', '--status', 'FAILED'], ['failed-1']),
            (['--type', 'Flow', '--version', '1', '--tag', 'nightly'], ['open-1']),
            (['--type', 'Other', '--version', '1'], []),  # moto needs a version
            (['--workflow-id', 'open-2'], ['open-2']),
            (['--since', '1h'], ['open-1', 'open-2']),
            (['--until', '1h'], []),
            (['--since', '2000-01-01', '--until', '2999-01-01', '--limit', '1'], None)):
        status, out, err = run(capsys, 'list', '--endpoint-url', server, DOMAIN, '--format',
                               'csv', *options)
        assert status == 0, err
        names = [row['workflow_id'] for row in csv_rows(out)]
        if expected is None:
            assert len(names) == 1
        else:
            assert sorted(names) == expected, options
        assert out.startswith('workflow_id,run_id,type,version,status,started,closed,'
                              'duration,tags\n')
    status, out, _ = run(capsys, 'list', '--endpoint-url', server, DOMAIN, '--type', 'Other',
                         '--version', '1')
    assert (status, out) == (0, 'no open executions\n')


def test_list_errors(capsys, server):  # noqa: F811
    status, out, err = run(capsys, 'list', '--endpoint-url', server, 'nowhere')
    assert status == 1 and out == ''
    assert err == 'flowy list: error: SWF knows no domain nowhere\n'
    status, _, err = run(capsys, 'list', '--endpoint-url', server, DOMAIN, '--version', '1')
    assert status == 1 and '--version needs --type' in err
    status, _, err = run(capsys, 'list', DOMAIN, '--status', 'DONE')
    assert status == 2 and 'invalid choice' in err


class _Pages:
    """A boto3 client stand-in: listing pages of two executions each."""

    def __init__(self, pages):
        self.pages, self.requests = pages, []

    def list_open_workflow_executions(self, **request):
        self.requests.append(dict(request))
        index = int(request.get('nextPageToken') or 0)
        response = {'executionInfos': self.pages[index]}
        if index + 1 < len(self.pages):
            response['nextPageToken'] = str(index + 1)
        return response


def _info(wid, tags=()):
    return {'execution': {'workflowId': wid, 'runId': 'r-' + wid},
            'workflowType': {'name': 'Flow', 'version': '1'}, 'executionStatus': 'OPEN',
            'startTimestamp': datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc),
            'tagList': list(tags)}


def test_list_reads_every_page_and_sends_one_filter():
    fake = _Pages([[_info('a', ['x']), _info('b')], [_info('c', ['x'])], [_info('d', ['x'])]])
    found = list(list_executions(fake, 'dom', workflow_type='Flow', tag='x'))
    assert [info['execution']['workflowId'] for info in found] == ['a', 'c', 'd']
    assert [request.get('nextPageToken') for request in fake.requests] == [None, '1', '2']
    assert fake.requests[0]['typeFilter'] == {'name': 'Flow'}
    assert 'tagFilter' not in fake.requests[0]  # SWF takes one filter: the tag is checked here
    fake.requests.clear()
    assert len(list(list_executions(fake, 'dom', limit=3))) == 3
    assert len(fake.requests) == 2  # no page read past the limit
    with pytest.raises(ValueError, match='only closed executions'):
        list(list_executions(fake, 'dom', close_status='FAILED'))


def test_history_tasks_profile_of_a_run(capsys, server):  # noqa: F811
    status, workflow_id = finished_run(capsys, server, 'SumSquares', '3')
    assert status == 0
    base = ['--endpoint-url', server, DOMAIN, workflow_id]

    status, out, err = run(capsys, 'history', *base)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ['ID', 'TIME', 'EVENT', 'CALL', 'NAME', 'DETAIL']
    assert lines[1].split()[:4] == ['1', lines[1].split()[1], lines[1].split()[2],
                                    'WorkflowExecutionStarted']
    completed = [line for line in lines if ' ActivityTaskCompleted ' in line]
    assert len(completed) == 5  # three squares, two additions
    assert any(' square-2-0 ' in line and ' square ' in line for line in completed)
    assert 'WorkflowExecutionCompleted' in lines[-1] and lines[-1].endswith('5')
    status, out, _ = run(capsys, 'history', *base, '--format', 'json')
    events = json.loads(out)
    assert events[0]['eventType'] == 'WorkflowExecutionStarted' and events[0]['eventId'] == 1
    assert events[-1]['workflowExecutionCompletedEventAttributes']['result'] == '5'
    status, out, _ = run(capsys, 'history', *base, '--format', 'csv')
    rows = csv_rows(out)
    assert rows[0]['event'] == 'WorkflowExecutionStarted'
    assert len(rows) == len(events)

    status, out, err = run(capsys, 'tasks', *base)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:5] == ['CALL', 'TYPE', 'KIND', 'ATTEMPTS', 'STATE']
    assert [line.split()[:5] for line in lines[1:4]] == [
        ['square-%d' % n, 'square', 'activity', '1', 'completed'] for n in range(3)]
    status, out, _ = run(capsys, 'tasks', *base, '--format', 'json')
    calls = json.loads(out)
    assert [call['call'] for call in calls][:3] == ['square-0', 'square-1', 'square-2']
    assert [call['result'] for call in calls][:3] == ['0', '1', '4']
    assert all(call['queue_wait'] >= 0 and call['run_time'] >= 0 for call in calls)
    assert calls[0]['scheduled'] <= calls[0]['started'] <= calls[0]['closed']
    status, out, _ = run(capsys, 'tasks', *base, '--format', 'csv')
    assert [row['type'] for row in csv_rows(out)] == ['square'] * 3 + ['add'] * 2

    status, out, err = run(capsys, 'profile', *base)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:8] == ['TYPE', 'KIND', 'CALLS', 'ATTEMPTS', 'COMPLETED',
                                    'FAILURES', 'TIMEOUTS', 'CANCELLED']
    status, out, _ = run(capsys, 'profile', *base, '--format', 'json')
    found = {row['type']: row for row in json.loads(out)}
    assert (found['square']['calls'], found['square']['completed']) == (3, 3)
    assert (found['add']['calls'], found['add']['failures']) == (2, 0)
    assert found['square']['max_run_time'] >= found['square']['mean_run_time'] >= 0
    status, out, _ = run(capsys, 'profile', *base, '--format', 'csv')
    assert sorted(row['type'] for row in csv_rows(out)) == ['add', 'square']


def test_tasks_and_profile_show_failures(capsys, server):  # noqa: F811
    status, workflow_id = finished_run(capsys, server, 'Explodes', '4')
    assert status == 1
    base = ['--endpoint-url', server, DOMAIN, workflow_id]
    status, out, _ = run(capsys, 'tasks', *base, '--format', 'json')
    (call,) = json.loads(out)
    assert (call['call'], call['state'], call['result']) == ('explode-0', 'failed', None)
    assert 'ValueError: cannot handle 4' in call['error']
    status, out, _ = run(capsys, 'tasks', *base)
    assert 'explode-0' in out and 'cannot handle 4' in out
    status, out, _ = run(capsys, 'profile', *base, '--format', 'json')
    (row,) = json.loads(out)
    assert (row['type'], row['failures'], row['completed']) == ('explode', 1, 0)
    status, out, _ = run(capsys, 'history', *base)
    assert ' ActivityTaskFailed ' in out and 'cannot handle 4' in out
    assert 'WorkflowExecutionFailed' in out


@pytest.mark.parametrize('command', ['history', 'tasks', 'profile', 'restart'])
def test_an_unknown_execution_is_one_line(capsys, server, command):  # noqa: F811
    status, out, err = run(capsys, command, '--endpoint-url', server, DOMAIN, 'nope')
    assert status == 1 and out == ''
    assert err.startswith('flowy %s: error: SWF knows no execution' % command)
    assert len(err.splitlines()) == 1
    status, _, err = run(capsys, command, '--endpoint-url', server, DOMAIN, 'nope',
                         '--run-id', 'r1')
    assert status == 1 and 'SWF knows no execution nope (run r1)' in err
    status, _, err = run(capsys, command, '--endpoint-url', server, 'nowhere', 'nope')
    assert status == 1 and 'SWF knows no domain nowhere' in err


def test_restart(capsys, server):  # noqa: F811
    client = boto3_client(server)
    old_run = start(client, 'job-1', tags=['nightly', 'eu'], input='[[7], {"n": 2}]')
    base = ['--endpoint-url', server, DOMAIN, 'job-1']
    status, _, err = run(capsys, 'restart', *base, '--same-id')
    assert status == 1
    assert 'job-1 (run %s) is still open: terminate it first' % old_run in err

    status, out, err = run(capsys, 'restart', *base)  # a new workflow id while it runs
    assert status == 0, err
    lines = dict(line.split(': ', 1) for line in out.splitlines())
    assert lines['workflow id'] != 'job-1'
    assert lines['restarted from'] == 'job-1 (run %s), Flow version 1' % old_run
    again = started_event(client, lines['workflow id'], lines['run id'])
    first = started_event(client, 'job-1', old_run)
    for field in ('input', 'tagList', 'taskList', 'childPolicy',
                  'executionStartToCloseTimeout', 'taskStartToCloseTimeout'):
        assert again[field] == first[field], field

    status, out, _ = run(capsys, 'restart', *base, '--workflow-id', 'job-1-again')
    assert status == 0 and out.startswith('workflow id: job-1-again\n')
    status, _, err = run(capsys, 'restart', *base, '--workflow-id', 'job-1-again')
    assert status == 1 and "the workflow id 'job-1-again' is already open" in err

    client.terminate_workflow_execution(domain=DOMAIN, workflowId='job-1')
    status, out, err = run(capsys, 'restart', *base, '--same-id')
    assert status == 0, err
    lines = dict(line.split(': ', 1) for line in out.splitlines())
    assert lines['workflow id'] == 'job-1' and lines['run id'] != old_run
    assert started_event(client, 'job-1', lines['run id'])['input'] == '[[7], {"n": 2}]'
    status, out, _ = run(capsys, 'list', *base[:-1], '--workflow-id', 'job-1', '--format',
                         'json')
    assert [row['run_id'] for row in json.loads(out)] == [lines['run id']]


# -- rows without SWF ------------------------------------------------------------------------


def _attempt(key, state, scheduled, started, finished, detail='', dep='square'):
    call = TraceCall(key, dep, 'activity', (), 1, scheduled=scheduled)
    call.state, call.started, call.finished, call.detail = state, started, finished, detail
    return call


def test_attempts_of_a_call_make_one_row_and_profile_sums_them():
    calls = [_attempt('square-0-0', 'failed', 10.0, 11.0, 13.0, 'ValueError: x'),
             _attempt('square-0-1', 'completed', 14.0, 14.5, 15.0, '4'),
             _attempt('square-1-0', 'timedout', 10.0, 12.0, 20.0, 'square-1-0 timed out'),
             _attempt('add-2-0', 'running', 21.0, None, None, dep='add'),
             TraceCall('@sleep-0', '@sleep', 'timer', (), 1)]
    rows = call_rows(calls)
    assert [(row['call'], row['attempts'], row['state']) for row in rows] == [
        ('square-0', 2, 'completed'), ('square-1', 1, 'timedout'), ('add-2', 1, 'running')]
    assert rows[0]['queue_wait'] == 1.5 and rows[0]['run_time'] == 2.5
    assert (rows[0]['result'], rows[0]['error']) == ('4', None)
    assert rows[1]['error'] == 'square-1-0 timed out'
    assert rows[2]['run_time'] is None and rows[2]['scheduled'] == 21.0
    profile = {row['type']: row for row in profile_rows(rows)}
    square = profile['square']
    assert (square['calls'], square['attempts'], square['completed'], square['failures'],
            square['timeouts']) == (2, 3, 1, 1, 1)
    assert square['total_run_time'] == 2.0 + 0.5 + 8.0 and square['max_run_time'] == 8.0
    assert square['max_queue_wait'] == 2.0
    assert profile['add']['running'] == 1 and profile['add']['total_run_time'] is None
    assert call_rows(calls, queue_known=False)[0]['queue_wait'] is None


def test_history_rows_name_the_call_of_each_event():
    stamp = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    events = [
        {'eventId': 5, 'eventType': 'ActivityTaskScheduled', 'eventTimestamp': stamp,
         'activityTaskScheduledEventAttributes': {
             'activityId': 'square-0-0', 'activityType': {'name': 'square', 'version': '1'},
             'input': '[[3], {}]'}},
        {'eventId': 6, 'eventType': 'ActivityTaskStarted', 'eventTimestamp': stamp,
         'activityTaskStartedEventAttributes': {'scheduledEventId': 5}},
        {'eventId': 7, 'eventType': 'ActivityTaskFailed', 'eventTimestamp': stamp,
         'activityTaskFailedEventAttributes': {'scheduledEventId': 5, 'startedEventId': 6,
                                               'reason': 'bad', 'details': 'bad input'}},
        {'eventId': 8, 'eventType': 'TimerStarted', 'eventTimestamp': stamp,
         'timerStartedEventAttributes': {'timerId': '@sleep-0', 'startToFireTimeout': '5'}},
        {'eventId': 9, 'eventType': 'WorkflowExecutionTimedOut', 'eventTimestamp': stamp,
         'workflowExecutionTimedOutEventAttributes': {'timeoutType': 'START_TO_CLOSE'}},
    ]
    rows = history_rows(events)
    assert [(row['call'], row['name'], row['detail']) for row in rows] == [
        ('square-0-0', 'square', '[[3], {}]'), ('square-0-0', 'square', None),
        ('square-0-0', 'square', 'bad input'), ('@sleep-0', None, '5'),
        (None, None, 'timeoutType=START_TO_CLOSE')]
