"""The ``flowy`` command: parsing and help, start and status against a moto server, and
end to end with the decider and the activity worker in separate processes.

The moto server (``swf_server``) runs in a thread of the test process, on 127.0.0.1; the
worker subprocesses reach it through AWS_ENDPOINT_URL_SWF.  Every subprocess and loop is
bounded by a timeout, and the subprocesses are killed in a ``finally``.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from flowy.serialization import dumps, loads
from flowy.swf import cli
from flowy.swf.status import describe_execution, wait_for_result

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOMAIN = 'cli-tests'
COMMANDS = ('start', 'decider', 'activities', 'run', 'status')
SUBPROCESS_TIMEOUT = 60


def run(capsys, *argv):
    """``flowy ARGV`` in this process: (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def boto3_client(endpoint):
    import boto3
    from botocore.config import Config

    return boto3.client('swf', region_name='us-east-1', endpoint_url=endpoint,
                        config=Config(retries={'total_max_attempts': 1}))


@pytest.fixture
def server(swf_server):
    """The endpoint, with the domain and a workflow type ``Flow 1`` registered."""
    client = boto3_client(swf_server)
    client.register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays='1')
    client.register_workflow_type(
        domain=DOMAIN, name='Flow', version='1', defaultTaskList={'name': 'decisions'},
        defaultExecutionStartToCloseTimeout='3600', defaultTaskStartToCloseTimeout='60',
        defaultChildPolicy='TERMINATE')
    return swf_server


def complete(client, result, task_list='decisions'):
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={'name': task_list})
    assert task.get('taskToken')
    client.respond_decision_task_completed(taskToken=task['taskToken'], decisions=[{
        'decisionType': 'CompleteWorkflowExecution',
        'completeWorkflowExecutionDecisionAttributes': {'result': dumps(result)}}])


def started_event(client, workflow_id, run_id):
    events = client.get_workflow_execution_history(
        domain=DOMAIN, execution={'workflowId': workflow_id, 'runId': run_id})['events']
    return events[0]['workflowExecutionStartedEventAttributes']


def ids(out):
    lines = dict(line.split(': ', 1) for line in out.strip().splitlines()[:2])
    return lines['workflow id'], lines['run id']


# -- parsing and help -------------------------------------------------------------------------


@pytest.mark.parametrize('command', COMMANDS)
def test_every_command_has_help_with_examples(capsys, command):
    status, out, err = run(capsys, command, '--help')
    assert status == 0 and err == ''
    assert out.startswith('usage: flowy %s' % command)
    assert 'examples:\n  flowy %s ' % command in out
    assert '--endpoint-url' in out and '--region' in out and '--verbose' in out


def test_the_main_help_lists_every_command(capsys):
    status, out, _ = run(capsys, '--help')
    assert status == 0
    for command in COMMANDS:
        assert '\n    %s ' % command in out
    assert 'examples:' in out and 'AWS_ENDPOINT_URL_SWF' in out


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == 2
    assert 'usage: flowy' in err


def test_version(capsys):
    from flowy import __version__

    status, out, _ = run(capsys, '--version')
    assert status == 0 and out.strip() == 'flowy ' + __version__


@pytest.mark.parametrize('text, value', [
    ('10', 10), ('-2.5', -2.5), ('true', True), ('null', None), ('"10"', '10'),
    ('[1, "a"]', [1, 'a']), ('{"a": {"b": 1}}', {'a': {'b': 1}}), ('hello', 'hello'),
    ('hello world', 'hello world'), ('{oops', '{oops'), ('', ''),
])
def test_arguments_are_json_or_plain_strings(text, value):
    assert cli.json_value(text) == value


def test_start_arguments_are_parsed():
    args = cli.build_parser().parse_args([
        'start', 'dom', 'Flow', '2', '5', 'word', '[1]', '--kwargs', '{"n": 3}',
        '--task-list', 'tl', '--task-duration', '30', '--workflow-duration', 'none',
        '--workflow-id', 'wid', '--tag', 'a', '--tag', 'b', '--child-policy', 'abandon',
        '--endpoint-url', 'http://127.0.0.1:1', '--region', 'eu-west-1', '-vv'])
    assert (args.domain, args.name, args.version) == ('dom', 'Flow', '2')
    assert args.args == [5, 'word', [1]] and args.kwargs == {'n': 3}
    assert (args.task_list, args.task_duration, args.workflow_duration) == ('tl', 30, 'NONE')
    assert (args.workflow_id, args.tags, args.child_policy) == ('wid', ['a', 'b'], 'ABANDON')
    assert (args.endpoint_url, args.region, args.verbose) == ('http://127.0.0.1:1',
                                                              'eu-west-1', 2)


def test_common_options_go_before_the_command_too():
    args = cli.build_parser().parse_args(['--endpoint-url', 'http://127.0.0.1:1', '-v',
                                          'status', 'dom', 'wid'])
    assert args.endpoint_url == 'http://127.0.0.1:1' and args.verbose == 1
    assert args.run_id is None and not args.json


def test_worker_arguments_are_parsed():
    parser = cli.build_parser()
    args = parser.parse_args(['decider', 'dom', 'tl', 'pkg.a', 'pkg.b', '--identity', 'me',
                              '--no-register', '--driver', 'replay'])
    assert (args.domain, args.task_list, args.modules) == ('dom', 'tl', ['pkg.a', 'pkg.b'])
    assert (args.identity, args.register, args.driver) == ('me', False, 'replay')
    args = parser.parse_args(['activities', 'dom', 'tl', 'pkg'])
    assert (args.modules, args.register, args.identity) == (['pkg'], True, None)
    args = parser.parse_args(['run', 'mod', 'Flow', '1', '3', '--kwargs', '{"a": 1}',
                              '--domain', 'dev', '--timeout', '2.5'])
    assert (args.module, args.name, args.version, args.args) == ('mod', 'Flow', '1', [3])
    assert (args.kwargs, args.domain, args.timeout, args.driver) == ({'a': 1}, 'dev', 2.5,
                                                                    'cached')
    assert parser.parse_args(['run', 'mod', 'Flow', '1']).domain == cli.DEV_DOMAIN


@pytest.mark.parametrize('argv, message', [
    (['start', 'dom', 'Flow', '1', '--kwargs', '[1]'], 'must be a JSON object'),
    (['start', 'dom', 'Flow', '1', '--kwargs', '{bad'], 'not valid JSON'),
    (['start', 'dom', 'Flow', '1', '--task-duration', 'soon'], 'whole number of seconds'),
    (['start', 'dom', 'Flow', '1', '--child-policy', 'kill'], 'invalid choice'),
    (['start', 'dom', 'Flow'], 'required: VERSION'),
    (['decider', 'dom', 'tl'], 'required: MODULE'),
    (['decider', 'dom', 'tl', 'mod', '--driver', 'fast'], 'invalid choice'),
    (['run', 'mod', 'Flow', '1', '--timeout', '0'], 'greater than 0'),
    (['status', 'dom'], 'required: WORKFLOW_ID'),
    (['stop', 'dom'], 'invalid choice'),
])
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ''
    assert message in err and 'Traceback' not in err


@pytest.mark.parametrize('options, message', [
    (['--task-duration', '0'], 'task_duration must be a whole number of seconds'),
    (['--workflow-duration', 'NONE'], 'workflow_duration cannot be NONE'),
    (['--workflow-id', 'a:b'], 'not a valid SWF name'),
    (['--tag', '1', '--tag', '2', '--tag', '3', '--tag', '4', '--tag', '5', '--tag', '6'],
     'at most 5 tags'),
    (['x' * 40000], 'characters; SWF allows 32768'),
])
def test_invalid_start_options_are_usage_errors_before_any_call(capsys, options, message):
    # no endpoint is reachable on port 9: a call to SWF would fail with status 1
    status, out, err = run(capsys, 'start', '--endpoint-url', 'http://127.0.0.1:9',
                           '--region', 'us-east-1', 'dom', 'Flow', '1', *options)
    assert status == 2 and out == ''
    assert err.startswith('flowy start: error: ') and message in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_module_is_a_usage_error(capsys):
    for command in (['decider', 'dom', 'tl'], ['activities', 'dom', 'tl'], ['run']):
        argv = command + ['no_such_module_here'] + (['Flow', '1'] if command == ['run']
                                                    else [])
        status, _, err = run(capsys, *argv)
        assert status == 2
        assert 'cannot find the module no_such_module_here' in err


def test_a_module_without_workflows_is_a_usage_error(capsys):
    status, _, err = run(capsys, 'decider', 'dom', 'tl', 'json')
    assert status == 2
    assert 'no workflows found in json' in err and 'SWFWorkflowConfig' in err
    status, _, err = run(capsys, 'activities', 'dom', 'tl', 'json')
    assert status == 2 and 'no activities found in json' in err


def test_run_names_the_workflows_it_found(capsys):
    status, _, err = run(capsys, 'run', 'e2e_workflows', 'Nope', '1')
    assert status == 2
    assert ('no workflow Nope version 1 in e2e_workflows (found: Explodes 1, Measure 1, '
            'Naps 1, SumSquares 1)') in err


def test_a_py_file_is_a_module_too(capsys):
    status, _, err = run(capsys, 'run', os.path.join(HERE, 'e2e_workflows.py'), 'Nope', '1')
    assert status == 2 and 'found: Explodes 1, Measure 1, Naps 1, SumSquares 1' in err
    status, _, err = run(capsys, 'run', os.path.join(HERE, 'missing.py'), 'Nope', '1')
    assert status == 2 and 'no such file' in err


# -- start and status against a moto server ----------------------------------------------------


def test_start_sends_what_the_command_line_says(capsys, server):
    status, out, err = run(
        capsys, 'start', '--endpoint-url', server, DOMAIN, 'Flow', '1', '5', 'hello',
        '[1, 2]', '--kwargs', '{"x": {"y": null}}', '--task-list', 'decisions',
        '--task-duration', '30', '--workflow-duration', '600', '--tag', 'b', '--tag', 'a',
        '--workflow-id', 'cli-1', '--child-policy', 'abandon')
    assert status == 0, err
    workflow_id, run_id = ids(out)
    assert workflow_id == 'cli-1' and run_id
    client = boto3_client(server)
    started = started_event(client, workflow_id, run_id)
    assert loads(started['input']) == [[5, 'hello', [1, 2]], {'x': {'y': None}}]
    assert started['taskStartToCloseTimeout'] == '30'
    assert started['executionStartToCloseTimeout'] == '600'
    assert started['childPolicy'] == 'ABANDON'
    assert started['tagList'] == ['b', 'a']


def test_start_then_status(capsys, server, monkeypatch):
    monkeypatch.setenv('AWS_ENDPOINT_URL_SWF', server)  # instead of --endpoint-url
    status, out, err = run(capsys, 'start', DOMAIN, 'Flow', '1', '3')
    assert status == 0, err
    workflow_id, run_id = ids(out)
    status, out, _ = run(capsys, 'status', DOMAIN, workflow_id)
    assert status == 0
    assert 'run id:        %s' % run_id in out
    assert 'workflow type: Flow version 1' in out
    assert 'status:        OPEN' in out
    complete(boto3_client(server), {'sum': (1, 2)})
    status, out, _ = run(capsys, 'status', DOMAIN, workflow_id, '--run-id', run_id)
    assert status == 0
    assert 'status:        CLOSED (COMPLETED)' in out
    assert 'result:        {"sum": [1, 2]}' in out
    status, out, _ = run(capsys, 'status', DOMAIN, workflow_id, '--json')
    info = json.loads(out)
    assert info['run_id'] == run_id and info['close_status'] == 'COMPLETED'
    assert info['result'] == {'sum': [1, 2]}


def test_status_of_a_failed_execution_shows_the_reason(capsys, server):
    client = boto3_client(server)
    run_id = client.start_workflow_execution(domain=DOMAIN, workflowId='fails',
                                             workflowType={'name': 'Flow', 'version': '1'},
                                             input='[[], {}]')['runId']
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={'name': 'decisions'})
    client.respond_decision_task_completed(taskToken=task['taskToken'], decisions=[{
        'decisionType': 'FailWorkflowExecution',
        'failWorkflowExecutionDecisionAttributes': {'reason': 'it broke'}}])
    status, out, _ = run(capsys, 'status', '--endpoint-url', server, DOMAIN, 'fails')
    assert status == 0
    assert 'status:        CLOSED (FAILED)' in out and 'reason:        it broke' in out
    assert run_id in out


def test_start_wait_prints_the_result(capsys, server):
    import threading

    client = boto3_client(server)
    closer = threading.Timer(0.5, complete, (client, [1, 'two']))
    closer.start()
    try:
        status, out, err = run(capsys, 'start', '--endpoint-url', server, DOMAIN, 'Flow',
                               '1', '--wait', '--timeout', '30')
    finally:
        closer.join(10)
    assert status == 0, err
    assert out.strip().splitlines()[-1] == '[1, "two"]'


def test_start_wait_times_out(capsys, server):
    status, out, err = run(capsys, 'start', '--endpoint-url', server, DOMAIN, 'Flow', '1',
                           '--wait', '--timeout', '0.3')
    assert status == 1
    assert 'still open after 0.3 s' in err and 'Traceback' not in err


def test_an_execution_already_open_fails_with_one_line(capsys, server):
    argv = ['start', '--endpoint-url', server, DOMAIN, 'Flow', '1', '--workflow-id', 'dup']
    assert run(capsys, *argv)[0] == 0
    status, out, err = run(capsys, *argv)
    assert status == 1 and out == ''
    assert err.startswith("flowy start: error: cannot start the workflow Flow version 1: "
                          "an execution with the workflow id 'dup' is already open")
    assert len(err.strip().splitlines()) == 1


def test_swf_errors_fail_with_one_line(capsys, server):
    status, _, err = run(capsys, 'start', '--endpoint-url', server, 'nowhere', 'Flow', '1')
    assert status == 1
    assert 'domain nowhere' in err and len(err.strip().splitlines()) == 1
    status, _, err = run(capsys, 'status', '--endpoint-url', server, DOMAIN, 'unknown-id')
    assert status == 1
    assert "no execution with the workflow id 'unknown-id'" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unreachable_endpoint_fails_with_one_line(capsys, monkeypatch):
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_MAX_ATTEMPTS', '1')
    status, _, err = run(capsys, 'status', '--endpoint-url', 'http://127.0.0.1:9',
                         '--region', 'us-east-1', DOMAIN, 'wid')
    assert status == 1
    assert err.startswith('flowy status: error: ') and 'Traceback' not in err


# -- end to end --------------------------------------------------------------------------------


def subprocess_env(endpoint):
    env = dict(os.environ)
    env.update(AWS_ENDPOINT_URL_SWF=endpoint, AWS_ACCESS_KEY_ID='testing',
               AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION='us-east-1',
               PYTHONPATH=os.pathsep.join([ROOT, HERE, env.get('PYTHONPATH', '')]),
               PYTHONUNBUFFERED='1')
    env.pop('AWS_PROFILE', None)
    env.pop('AWS_SESSION_TOKEN', None)
    return env


def flowy_command(*argv):
    return [sys.executable, '-m', 'flowy'] + list(argv)


def wait_until(condition, timeout, processes, what):
    """Poll ``condition`` until true; fail early if a worker process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process, log in processes:
            if process.poll() is not None:
                pytest.fail('the %s exited (%s) while waiting for %s:\n%s'
                            % (name, process.returncode, what, log.read_text()))
        if condition():
            return
        time.sleep(0.1)
    pytest.fail('timed out waiting for %s' % what)


def registered(client, name):
    try:
        client.describe_workflow_type(domain=DOMAIN, workflowType={'name': name,
                                                                   'version': '1'})
        for activity in ('square', 'add'):  # registered in turn: wait for every one used
            client.describe_activity_type(domain=DOMAIN, activityType={'name': activity,
                                                                       'version': '1'})
    except client.exceptions.UnknownResourceFault:
        return False
    return True


def test_decider_and_activity_worker_processes(swf_server, tmp_path):
    client = boto3_client(swf_server)
    client.register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays='1')
    env = subprocess_env(swf_server)
    processes = []
    try:
        for name, argv in (
                ('decider', ('decider', DOMAIN, 'e2e-decisions', 'e2e_workflows',
                             '--identity', 'e2e-decider')),
                ('activity worker', ('activities', DOMAIN, 'e2e-work', 'e2e_workflows'))):
            log = tmp_path / (name.replace(' ', '-') + '.log')
            with open(log, 'w') as stream:
                process = subprocess.Popen(flowy_command(*argv), env=env, cwd=str(tmp_path),
                                           stdin=subprocess.DEVNULL, stdout=stream,
                                           stderr=subprocess.STDOUT)
            processes.append((name, process, log))
        wait_until(lambda: registered(client, 'SumSquares'), SUBPROCESS_TIMEOUT, processes,
                   'the workers to register their types')

        started = subprocess.run(
            flowy_command('start', DOMAIN, 'SumSquares', '1', '6', '--kwargs',
                          '{"offset": 1000}', '--workflow-id', 'e2e-sum'),
            env=env, cwd=str(tmp_path), capture_output=True, text=True,
            timeout=SUBPROCESS_TIMEOUT)
        assert started.returncode == 0, started.stderr
        workflow_id, run_id = ids(started.stdout)
        assert workflow_id == 'e2e-sum'

        result = wait_for_result(client, DOMAIN, workflow_id, timeout=SUBPROCESS_TIMEOUT,
                                 poll_interval=0.2)
        assert result == 1055  # 0 + 1 + 4 + 9 + 16 + 25, plus the offset
        status = describe_execution(client, DOMAIN, workflow_id)
        assert (status.run_id, status.close_status) == (run_id, 'COMPLETED')

        for _, process, _ in processes:
            process.send_signal(signal.SIGTERM)
        for name, process, log in processes:
            try:
                code = process.wait(timeout=SUBPROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail('the %s did not stop after SIGTERM:\n%s' % (name, log.read_text()))
            assert code == 0, '%s exited with %s:\n%s' % (name, code, log.read_text())
        decider_log = processes[0][2].read_text()
        assert 'e2e-decider' in decider_log and 'Traceback' not in decider_log
        assert 'Traceback' not in processes[1][2].read_text()
    finally:
        for _, process, _ in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.mark.parametrize('driver', ['cached', 'replay'])
def test_run_in_one_process(capsys, swf_server, driver):
    status, out, err = run(capsys, 'run', '--endpoint-url', swf_server, 'e2e_workflows',
                           'SumSquares', '1', '5', '--timeout', str(SUBPROCESS_TIMEOUT),
                           '--driver', driver)
    assert status == 0, err
    assert out == '30\n'
    client = boto3_client(swf_server)
    domains = client.list_domains(registrationStatus='REGISTERED')['domainInfos']
    assert [info['name'] for info in domains] == [cli.DEV_DOMAIN]


def test_run_a_failing_workflow(capsys, swf_server):
    status, out, err = run(capsys, 'run', '--endpoint-url', swf_server, '--domain', DOMAIN,
                           'e2e_workflows', 'Explodes', '1', '7', '--timeout',
                           str(SUBPROCESS_TIMEOUT))
    assert status == 1 and out == ''
    # the same line as LocalWorkflow.run's error: the call, the exception's type, its message
    assert err == 'flowy run: error: explode-0-0 failed: ValueError: cannot handle 7\n'


def test_run_a_failing_workflow_with_v_prints_the_activity_traceback(capsys, swf_server):
    status, out, err = run(capsys, 'run', '--endpoint-url', swf_server, '--domain', DOMAIN,
                           'e2e_workflows', 'Explodes', '1', '7', '--timeout',
                           str(SUBPROCESS_TIMEOUT), '-v')
    assert status == 1 and out == ''
    line = 'flowy run: error: explode-0-0 failed: ValueError: cannot handle 7\n'
    assert line in err
    shown = err[err.index(line) + len(line):]  # the activity's traceback, not flowy's
    assert shown.startswith('    Traceback (most recent call last):\n')
    assert "    raise ValueError('cannot handle %d' % n)" in shown
    assert shown.rstrip().endswith('ValueError: cannot handle 7')
    assert 'flowy/swf/cli' not in shown


def test_status_of_a_run_failed_by_an_activity(capsys, swf_server):
    import datetime

    status, out, err = run(capsys, 'run', '--endpoint-url', swf_server, '--domain', DOMAIN,
                           'e2e_workflows', 'Explodes', '1', '8', '--timeout',
                           str(SUBPROCESS_TIMEOUT))
    assert status == 1, err
    closed = [info for info in boto3_client(swf_server).list_closed_workflow_executions(
        domain=DOMAIN, startTimeFilter={'oldestDate': datetime.datetime(2000, 1, 1)})[
        'executionInfos'] if info['workflowType']['name'] == 'Explodes']
    workflow_id = max(closed, key=lambda info: info['startTimestamp'])['execution']['workflowId']
    status, out, _ = run(capsys, 'status', '--endpoint-url', swf_server, DOMAIN, workflow_id)
    assert status == 0
    assert 'reason:        explode-0-0 failed: ValueError: cannot handle 8\n' in out
    assert 'Traceback' not in out
    status, out, _ = run(capsys, 'status', '--endpoint-url', swf_server, DOMAIN, workflow_id,
                         '-v')
    assert "        raise ValueError('cannot handle %d' % n)\n" in out
    status, out, _ = run(capsys, 'status', '--endpoint-url', swf_server, DOMAIN, workflow_id,
                         '--json')
    info = json.loads(out)
    assert info['reason'] == 'explode-0-0 failed: ValueError: cannot handle 8'
    assert info['type_name'] == 'ValueError' and 'Traceback' in info['details']


def test_run_sends_large_values_through_the_payload_bucket(capsys, swf_server, monkeypatch):
    import boto3

    monkeypatch.setenv('AWS_ENDPOINT_URL_S3', swf_server)  # the moto server serves S3 too
    s3 = boto3.client('s3', region_name='us-east-1', endpoint_url=swf_server)
    s3.create_bucket(Bucket='flowy-cli-payloads')
    text = 'x' * 40000
    argv = ['run', '--endpoint-url', swf_server, 'e2e_workflows', 'Measure', '1', text,
            '--timeout', str(SUBPROCESS_TIMEOUT)]
    status, _, err = run(capsys, *argv)
    assert status == 2 and '40009 characters; SWF allows 32768' in err
    status, out, err = run(capsys, *(argv + ['--payload-bucket', 'flowy-cli-payloads']))
    assert status == 0, err
    assert out == '40000\n'
    stored = s3.list_objects_v2(Bucket='flowy-cli-payloads')['Contents']
    # the workflow's input and its activity's are the same text: stored once
    assert len(stored) == 1


def test_run_gives_up_after_its_timeout(capsys, swf_server):
    began = time.monotonic()
    status, _, err = run(capsys, 'run', '--endpoint-url', swf_server, 'e2e_workflows',
                         'Naps', '1', '2', '--timeout', '0.5')
    assert time.monotonic() - began < 30
    assert status == 1
    assert 'did not finish within 0.5 s' in err
    client = boto3_client(swf_server)
    closed = client.list_closed_workflow_executions(
        domain=cli.DEV_DOMAIN, startTimeFilter={'oldestDate': 0})['executionInfos']
    assert [info['closeStatus'] for info in closed] == ['TERMINATED']


def test_python_m_flowy_runs_the_command():
    done = subprocess.run([sys.executable, '-m', 'flowy', 'status', '--help'],
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0
    assert done.stdout.startswith('usage: flowy status')
