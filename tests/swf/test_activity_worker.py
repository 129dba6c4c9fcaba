"""The SWF activity worker: plain functions run from activity tasks, and SWF's answers.

Two set-ups: a stub client that records the calls the worker makes (every outcome, every
error of SWF's), and moto's in-process SWF with tests/swf/moto_ext.py (``swf_client``,
``swf_clock``: heartbeats, cancellation, timeouts and registration on a real API).

Every wait is bounded; the loop tests use events, not sleeps.
"""

import argparse
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from botocore.exceptions import ClientError

import flowy
from flowy.heartbeat import encode_details as heartbeat_details
from flowy.serialization import JSON
from flowy.swf.activity import MAX_HEARTBEAT_DETAILS, SWFActivityWorker
from flowy.swf.client import SWFClient
from flowy.swf.config import (
    ACTIVITY_CATEGORY,
    SWFActivityConfig,
    SWFRegistrationError,
    SWFWorkflowConfig,
)
from flowy.swf.failures import extra_details, full_reason
from flowy.swf.payload import MAX_DATA, MAX_REASON, InMemoryPayloadStore

PROMPT = 10  # seconds: a generous bound for anything that should happen "soon"
DOMAIN = 'flowy-tests'
TASK_LIST = 'work'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

activities = SWFActivityConfig(default_task_list=TASK_LIST, default_heartbeat=30,
                               default_schedule_to_close=600, default_schedule_to_start=300,
                               default_start_to_close=300)
workflows = SWFWorkflowConfig(default_task_list='decide', default_workflow_duration=600,
                              default_decision_duration=60)


# -- activities found by scan(): plain functions, untouched by the decorator ------------------

@activities(version='1')
def add(a, b, scale=1):
    return (a + b) * scale


@activities(version='2', name='greet')
def greeting(name, punctuation='!'):
    return 'hello %s%s' % (name, punctuation)


@workflows(version='1')
class NotAnActivity:  # a workflow: an activity worker's scan() leaves it alone
    def __call__(self):
        return None


def make_worker(*funcs, store=None, version='1'):
    worker = SWFActivityWorker(payload_store=store)
    for func in funcs:
        worker.register(activities, func, version)
    return worker


# -- a stub client ----------------------------------------------------------------------------

def client_error(code, operation='RecordActivityTaskHeartbeat', message='no'):
    return ClientError({'Error': {'Code': code, 'Message': message}}, operation)


class StubClient:
    """SWFClient's activity calls, recorded; ``errors`` raises, ``heartbeats`` answers."""

    def __init__(self, polls=(), heartbeats=None, errors=None):
        self.calls = []
        self.polls = list(polls)  # what each poll returns (an exception is raised)
        self.heartbeats = list(heartbeats or [])  # answers, the last one repeats
        self.errors = dict(errors or {})  # call name -> exception to raise
        self.on_response = None

    def _record(self, name, *values):
        self.calls.append((name,) + values)
        error = self.errors.get(name)
        if error is not None:
            raise error

    def poll_for_activity_task(self, domain, task_list, identity=None):
        self.calls.append(('poll', domain, task_list, identity))
        answer = self.polls.pop(0) if self.polls else {'startedEventId': 0}
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def record_activity_task_heartbeat(self, task_token, details=None):
        self._record('heartbeat', task_token, details)
        answer = self.heartbeats[0] if self.heartbeats else {'cancelRequested': False}
        if len(self.heartbeats) > 1:
            self.heartbeats.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _responded(self, name, *values):
        try:
            self._record(name, *values)
        finally:
            if self.on_response is not None:
                self.on_response(name)

    def respond_activity_task_completed(self, task_token, result=None):
        self._responded('completed', task_token, result)

    def respond_activity_task_failed(self, task_token, reason=None, details=None):
        self._responded('failed', task_token, reason, details)

    def respond_activity_task_canceled(self, task_token, details=None):
        self._responded('canceled', task_token, details)

    def responses(self):
        return [call for call in self.calls if call[0] in ('completed', 'failed', 'canceled')]


def task(name, version='1', args=(), kwargs=None, token='token-1', text=None, **extra):
    """An activity task as poll_for_activity_task returns it."""
    found = {
        'taskToken': token, 'activityId': '%s-0-0' % name, 'startedEventId': 7,
        'activityType': {'name': name, 'version': version},
        'workflowExecution': {'workflowId': 'wf-1', 'runId': 'run-1'},
        'input': JSON.dumps([list(args), kwargs or {}]) if text is None else text,
    }
    found.update(extra)
    return found


def handle(worker, found, **stub_options):
    stub = StubClient(**stub_options)
    worker.handle(stub, found)
    return stub


# -- outcomes ---------------------------------------------------------------------------------

def test_a_plain_function_gets_positional_and_keyword_arguments():
    stub = handle(make_worker(add), task('add', args=(2, 3), kwargs={'scale': 10}))
    assert stub.calls == [('completed', 'token-1', '50')]


def test_defaults_of_the_function_apply():
    stub = handle(make_worker(greeting, version='2'), task('greeting', '2', args=('Ann',)))
    assert stub.calls == [('completed', 'token-1', JSON.dumps('hello Ann!'))]


def test_results_travel_with_the_transport():
    def pieces():
        return {'tuple': (1, 2), 'set': {3}, 'bytes': b'\x00'}

    stub = handle(make_worker(pieces), task('pieces'))
    (name, _, result), = stub.calls
    assert name == 'completed'
    assert JSON.loads(result) == {'tuple': (1, 2), 'set': {3}, 'bytes': b'\x00'}


def test_the_config_transport_decodes_and_encodes():
    class Upper:
        def dumps(self, value):
            return JSON.dumps(value).upper()

        def loads(self, text):
            return JSON.loads(text.lower())

    config = SWFActivityConfig(transport=Upper())
    worker = SWFActivityWorker()
    worker.register(config, lambda word: word + '!', '1', name='shout')
    stub = handle(worker, task('shout', text='[["HI"],{}]'))
    assert stub.calls == [('completed', 'token-1', '"HI!"')]


def test_a_failure_has_the_message_as_reason_and_the_traceback_as_details():
    def fails(n):
        raise ValueError('x' * n)

    stub = handle(make_worker(fails), task('fails', args=(300,)))
    (name, token, reason, details), = stub.calls
    assert (name, token) == ('failed', 'token-1')
    assert reason == 'x' * MAX_REASON
    assert full_reason(reason, details) == 'x' * 300  # the whole message comes back
    traceback_text = extra_details(details)
    assert traceback_text.startswith('Traceback (most recent call last)')
    assert 'in fails' in traceback_text
    assert traceback_text.rstrip().endswith('ValueError: ' + 'x' * 300)


def test_a_failure_without_a_message_names_the_exception():
    def fails():
        raise RuntimeError

    stub = handle(make_worker(fails), task('fails'))
    assert stub.calls[0][:3] == ('failed', 'token-1', 'RuntimeError')


def test_a_huge_failure_message_is_cut_to_fit_the_details():
    def fails():
        raise ValueError('start ' + 'y' * 40000 + ' end')

    stub = handle(make_worker(fails), task('fails'))
    (_, _, reason, details), = stub.calls
    assert reason == ('start ' + 'y' * 40000)[:MAX_REASON]
    assert len(details) <= MAX_DATA
    whole = full_reason(reason, details)  # as much of the message as fits, then [cut]
    assert whole.startswith('start yyy') and whole.endswith(' [cut]')
    assert extra_details(details) is None  # no room left for the traceback


def test_an_unknown_type_fails_with_a_reason_naming_it_and_the_known_types():
    stub = handle(make_worker(add), task('mystery', '3'))
    (name, token, reason, details), = stub.calls
    assert name == 'failed'
    assert 'mystery version 3' in reason
    assert 'add 1' in reason
    assert len(reason) <= MAX_REASON


def test_an_unknown_type_with_many_known_ones_keeps_the_whole_reason_in_details():
    worker = SWFActivityWorker()
    for number in range(40):
        worker.register(activities, add, '1', name='activity_number_%d' % number)
    stub = handle(worker, task('mystery'))
    (_, _, reason, details), = stub.calls
    assert len(reason) == MAX_REASON
    whole = full_reason(reason, details)
    assert whole.startswith(reason) and 'activity_number_39 1' in whole


@pytest.mark.parametrize('text, why', [
    ('not json', 'cannot decode the input'),
    ('5', 'cannot decode the input'),
    ('[5, {}]', 'not a pair of positional and keyword arguments'),
    ('[[], 5]', 'not a pair of positional and keyword arguments'),
])
def test_an_undecodable_input_fails_the_task(text, why):
    stub = handle(make_worker(add), task('add', text=text))
    (name, _, reason, _), = stub.calls
    assert name == 'failed'
    assert why in reason and 'add 1' in reason


def test_a_task_without_input_fails():
    found = task('add')
    del found['input']
    stub = handle(make_worker(add), found)
    assert stub.calls[0][0] == 'failed'
    assert 'has no input' in stub.calls[0][2]


def test_a_too_large_result_fails_the_task_naming_the_size():
    def big():
        return 'x' * 40000

    stub = handle(make_worker(big), task('big'))
    (name, _, reason, details), = stub.calls
    assert name == 'failed'
    assert '40002' in reason and '32768' in reason
    assert len(reason) <= MAX_REASON and full_reason(reason, details) == reason


def test_a_large_result_travels_through_the_payload_store():
    store = InMemoryPayloadStore()

    def big():
        return 'x' * 40000

    stub = handle(make_worker(big, store=store), task('big'))
    (name, _, reference), = stub.calls
    assert name == 'completed'
    assert reference.startswith('flowy-payload:')
    assert JSON.loads(store.get(reference)) == 'x' * 40000


def test_an_input_sent_by_reference_is_read_from_the_store():
    store = InMemoryPayloadStore()
    reference = store.put(JSON.dumps([['y' * 40000, ''], {}]))
    stub = handle(make_worker(add, store=store), task('add', text=reference))
    (name, _, reference), = stub.calls
    assert name == 'completed'
    assert JSON.loads(store.get(reference)) == 'y' * 40000


def test_an_input_by_reference_without_a_store_fails_the_task():
    reference = InMemoryPayloadStore().put('[[1, 2], {}]')
    stub = handle(make_worker(add), task('add', text=reference))
    (name, _, reason, details), = stub.calls
    assert name == 'failed' and reason.startswith(reference)
    assert 'the input of activity add 1' in reason
    assert 'no payload store is configured' in (details or reason)


def test_a_result_the_transport_cannot_encode_fails_the_task():
    def weird():
        return object()

    stub = handle(make_worker(weird), task('weird'))
    (name, _, reason, _), = stub.calls
    assert name == 'failed'
    assert 'cannot encode the result of activity weird 1' in reason


def test_one_info_line_per_task(caplog):
    caplog.set_level(logging.INFO, logger='flowy.swf')
    handle(make_worker(add), task('add', args=(1, 2)))
    lines = [record for record in caplog.records if record.name == 'flowy.swf']
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert 'activity add 1 (add-0-0 of workflow wf-1) completed' in lines[0].getMessage()


# -- heartbeats and cancellation -------------------------------------------------------------

def test_heartbeats_are_recorded_with_their_details():
    answers = []

    def works():
        answers.append(flowy.heartbeat('half done'))
        answers.append(flowy.heartbeat({'done': 5, 'of': 10}))
        answers.append(flowy.heartbeat())
        return 'done'

    stub = handle(make_worker(works), task('works'))
    assert answers == [False, False, False]
    assert stub.calls == [('heartbeat', 'token-1', 'half done'),
                          ('heartbeat', 'token-1', '{"done":5,"of":10}'),
                          ('heartbeat', 'token-1', None),
                          ('completed', 'token-1', '"done"')]


def test_heartbeat_details_are_limited_to_2048_characters():
    outcomes = []

    def chatty():
        for details in ('x' * MAX_HEARTBEAT_DETAILS, 'é' * MAX_HEARTBEAT_DETAILS,
                        'x' * (MAX_HEARTBEAT_DETAILS + 1), ['y' * MAX_HEARTBEAT_DETAILS],
                        object()):
            try:
                outcomes.append(flowy.heartbeat(details))
            except (ValueError, TypeError) as exc:
                outcomes.append(exc)
        return 'ok'

    stub = handle(make_worker(chatty), task('chatty'))
    assert outcomes[:2] == [False, False]
    assert isinstance(outcomes[2], ValueError)
    assert '2049 characters' in str(outcomes[2]) and '2048' in str(outcomes[2])
    assert isinstance(outcomes[3], ValueError) and '2052 characters' in str(outcomes[3])
    assert isinstance(outcomes[4], TypeError) and 'JSON' in str(outcomes[4])
    assert [call[0] for call in stub.calls] == ['heartbeat', 'heartbeat', 'completed']


def test_a_too_long_heartbeat_left_unhandled_fails_the_task():
    def chatty():
        flowy.heartbeat('z' * 3000)

    stub = handle(make_worker(chatty), task('chatty'))
    (name, _, reason, _), = stub.calls
    assert name == 'failed' and '3000 characters' in reason


def test_heartbeat_details_helper():
    assert heartbeat_details(None) is None
    assert heartbeat_details('as is') == 'as is'
    assert heartbeat_details({'a': [1, 2]}) == '{"a":[1,2]}'
    assert heartbeat_details('ü') == 'ü'


def test_an_activity_that_raises_after_a_cancel_request_is_reported_cancelled():
    def long_job():
        for step in range(10):
            if flowy.heartbeat('step %d' % step):
                raise RuntimeError('stopped at step %d' % step)
        return 'finished'

    stub = handle(make_worker(long_job), task('long_job'),
                  heartbeats=[{'cancelRequested': False}, {'cancelRequested': True}])
    assert [call[0] for call in stub.calls] == ['heartbeat', 'heartbeat', 'canceled']
    assert 'stopped at step 1' in stub.calls[-1][2]


def test_an_activity_that_returns_after_a_cancel_request_is_reported_cancelled():
    # the workflow recorded the call cancelled when it asked: nobody reads a result
    def stubborn():
        return flowy.heartbeat()

    stub = handle(make_worker(stubborn), task('stubborn'), heartbeats=[{'cancelRequested': True}])
    assert stub.responses() == [
        ('canceled', 'token-1', 'the activity returned after its cancellation was requested')]


def test_an_activity_sees_its_context():
    seen = []

    def who():
        seen.append(flowy.context())
        seen.append(flowy.context().workflow)  # looked up once, then remembered
        return 1

    worker = make_worker(who)
    stub = StubClient()
    stub.describe_workflow_execution = lambda domain, wid, rid: (
        stub.calls.append(('describe', domain, wid, rid)) or
        {'executionInfo': {'workflowType': {'name': 'Flow', 'version': '1'}}})
    worker.domain = 'dom'
    worker.handle(stub, task('who', activityId='who-3-2'))
    context = seen[0]
    assert (context.workflow_id, context.run_id, context.key, context.attempt) == (
        'wf-1', 'run-1', 'who-3-2', 2)
    assert seen[1] == 'Flow' and context.workflow == 'Flow'
    assert context == flowy.Context('Flow', 'wf-1', 'run-1', 'who-3-2', 2)
    assert [call for call in stub.calls if call[0] == 'describe'] == [
        ('describe', 'dom', 'wf-1', 'run-1')]
    with pytest.raises(flowy.UsageError):
        flowy.context()  # outside the activity again


def test_an_activity_context_without_the_workflow_type_says_none(caplog):
    seen = []

    def who():
        seen.append(flowy.context().workflow)

    handle(make_worker(who), task('who'))  # the stub cannot describe executions
    assert seen == [None]


def test_a_task_swf_no_longer_knows_is_told_to_stop_and_gets_no_answer(caplog):
    caplog.set_level(logging.INFO, logger='flowy.swf')
    answers = []

    def late():
        answers.append(flowy.heartbeat())
        answers.append(flowy.heartbeat('again'))  # not sent: SWF said the task is gone
        raise RuntimeError('gave up')

    stub = handle(make_worker(late), task('late'),
                  heartbeats=[client_error('UnknownResourceFault')])
    assert answers == [True, True]
    assert [call[0] for call in stub.calls] == ['heartbeat']
    messages = ' '.join(record.getMessage() for record in caplog.records)
    assert 'no longer knows the task' in messages
    assert 'raised gave up in' in messages and 'SWF had dropped the task' in messages


def test_a_heartbeat_that_fails_otherwise_is_logged_and_the_activity_goes_on(caplog):
    def works():
        return flowy.heartbeat('x')

    stub = handle(make_worker(works), task('works'),
                  heartbeats=[client_error('ThrottlingException')])
    assert stub.responses() == [('completed', 'token-1', 'false')]
    assert any('recording a heartbeat failed' in record.getMessage()
               and record.levelno == logging.WARNING for record in caplog.records)


def test_the_heartbeat_reporter_is_only_installed_while_the_activity_runs():
    handle(make_worker(add), task('add', args=(1, 2)))
    assert flowy.heartbeat() is False


# -- errors of SWF and of the process -----------------------------------------------------------

@pytest.mark.parametrize('code, level', [('UnknownResourceFault', logging.INFO),
                                         ('InternalFailure', logging.ERROR)])
def test_errors_of_the_answer_are_logged_not_raised(caplog, code, level):
    caplog.set_level(logging.INFO, logger='flowy.swf')
    stub = handle(make_worker(add), task('add', args=(1, 2)),
                  errors={'completed': client_error(code, 'RespondActivityTaskCompleted')})
    assert stub.calls == [('completed', 'token-1', '3')]
    record, = [record for record in caplog.records if record.name == 'flowy.swf']
    assert record.levelno == level and code in record.getMessage()


def test_an_interrupted_activity_fails_its_task_and_the_interrupt_goes_on():
    def interrupted():
        raise KeyboardInterrupt

    stub = StubClient()
    with pytest.raises(KeyboardInterrupt):
        make_worker(interrupted).handle(stub, task('interrupted'))
    (name, _, reason, _), = stub.calls
    assert name == 'failed' and 'interrupted (KeyboardInterrupt)' in reason


def exits():
    raise SystemExit(2)


def parses_arguments():
    parser = argparse.ArgumentParser(prog='report')
    parser.add_argument('--month', required=True)
    parser.parse_args([])


@pytest.mark.parametrize('activity, line', [(exits, 'raise SystemExit(2)'),
                                            (parses_arguments, 'parser.parse_args([])')])
def test_an_activity_that_exits_fails_its_task_with_the_reason(activity, line, capsys):
    stub = StubClient()
    make_worker(activity).handle(stub, task(activity.__name__))
    (name, _, reason, details), = stub.calls
    assert name == 'failed' and reason == 'SystemExit: 2'
    more = extra_details(details)
    assert more.startswith('Traceback') and line in more and more.endswith('SystemExit: 2\n')


def test_the_worker_goes_on_after_an_activity_that_exits():
    worker = make_worker(add, exits)
    stub = StubClient(polls=[task('exits', token='a'), task('add', args=(1, 2), token='b')])
    done = threading.Event()
    stub.on_response = lambda name: len(stub.responses()) == 2 and (worker.stop(), done.set())
    thread, errors = run_in_thread(worker, stub, register_remote=False)
    assert done.wait(PROMPT)
    thread.join(PROMPT)
    assert not thread.is_alive() and not errors
    assert [call[:3] for call in stub.responses()] == [('failed', 'a', 'SystemExit: 2'),
                                                       ('completed', 'b', '3')]


def test_a_bug_in_handling_is_logged_and_the_worker_goes_on(caplog):
    stub = handle(make_worker(add), {'taskToken': 't', 'activityType': 'not a dict'})
    assert stub.calls == []
    assert any('handling the activity task' in record.getMessage() for record in caplog.records)


# -- polling and the loop ---------------------------------------------------------------------

def test_poll_returns_none_without_a_task_and_the_task_otherwise():
    worker = make_worker(add)
    found = task('add')
    stub = StubClient(polls=[{'startedEventId': 0}, {'taskToken': ''}, found])
    assert worker.poll(stub, DOMAIN, TASK_LIST, 'me') is None
    assert worker.poll(stub, DOMAIN, TASK_LIST, 'me') is None
    assert worker.poll(stub, DOMAIN, TASK_LIST, 'me') is found
    assert stub.calls[0] == ('poll', DOMAIN, TASK_LIST, 'me')


def run_in_thread(worker, client, **options):
    errors = []

    def target():
        try:
            worker.run_forever(DOMAIN, TASK_LIST, swf_client=client, setup_log=False,
                               identity='tester', **options)
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def test_stop_from_another_thread_ends_run_forever():
    worker = make_worker(add)
    polled = threading.Event()

    class Waiting(StubClient):
        def poll_for_activity_task(self, domain, task_list, identity=None):
            polled.set()
            worker._stop.wait(PROMPT)  # a long poll that ends when the worker stops
            return {'startedEventId': 0}

    thread, errors = run_in_thread(worker, Waiting(), register_remote=False)
    assert polled.wait(PROMPT)
    worker.stop()
    thread.join(PROMPT)
    assert not thread.is_alive() and not errors


def test_a_failed_poll_is_tried_again_after_a_pause(caplog):
    worker = make_worker(add)
    worker.poll_retry_first = worker.poll_retry_max = 0.001
    stub = StubClient(polls=[client_error('ThrottlingException', 'PollForActivityTask'),
                             ConnectionError('network down'),
                             task('add', args=(20, 22))])
    done = threading.Event()
    stub.on_response = lambda name: (worker.stop(), done.set())
    thread, errors = run_in_thread(worker, stub, register_remote=False)
    assert done.wait(PROMPT)
    thread.join(PROMPT)
    assert not thread.is_alive() and not errors
    assert stub.responses() == [('completed', 'token-1', '42')]
    warnings = [record.getMessage() for record in caplog.records
                if record.levelno == logging.WARNING and 'polling' in record.getMessage()]
    assert len(warnings) == 2
    assert '1 in a row' in warnings[0] and '2 in a row' in warnings[1]


def test_the_loop_goes_on_after_tasks_that_fail_in_every_way():
    worker = make_worker(add)
    stub = StubClient(polls=[task('mystery', token='a'), task('add', text='nope', token='b'),
                             task('add', args=(1, 1), token='c')],
                      errors={'failed': client_error('InternalFailure')})
    done = threading.Event()

    def responded(name):
        if name == 'completed':
            worker.stop()
            done.set()

    stub.on_response = responded
    thread, errors = run_in_thread(worker, stub, register_remote=False)
    assert done.wait(PROMPT)
    thread.join(PROMPT)
    assert not errors
    assert [call[:2] for call in stub.responses()] == [('failed', 'a'), ('failed', 'b'),
                                                       ('completed', 'c')]


SIGTERM_SCRIPT = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, %(repo)r)
    from flowy.swf.activity import SWFActivityWorker
    from flowy.swf.config import SWFActivityConfig

    worker = SWFActivityWorker()

    def long_job():
        print('running', flush=True)
        for _ in range(1000):  # at most 10 s: until SIGTERM asks the worker to stop
            if worker.stopping:
                return 'finished after SIGTERM'
            time.sleep(0.01)
        return 'never stopped'

    worker.register(SWFActivityConfig(), long_job, '1')

    class Stub:
        polls = 0

        def poll_for_activity_task(self, domain, task_list, identity=None):
            self.polls += 1
            if self.polls == 1:
                return {'taskToken': 't', 'activityId': 'a', 'input': '[[],{}]',
                        'activityType': {'name': 'long_job', 'version': '1'}}
            return {}

        def respond_activity_task_completed(self, token, result=None):
            print('completed', result, flush=True)

    worker.run_forever('d', 'tl', swf_client=Stub(), register_remote=False)
    print('stopped after the task', flush=True)
''')


@pytest.mark.skipif(not hasattr(signal, 'SIGTERM') or os.name != 'posix', reason='POSIX only')
def test_sigterm_finishes_the_task_in_hand_then_stops():
    process = subprocess.Popen([sys.executable, '-c', SIGTERM_SCRIPT % {'repo': REPO}],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == 'running'
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert 'completed "finished after SIGTERM"' in out
    assert 'stopped after the task' in out
    assert 'got signal %d' % signal.SIGTERM in err


# -- registering what runs ---------------------------------------------------------------------

def test_scan_registers_the_decorated_activities_of_a_module():
    worker = SWFActivityWorker().scan()  # by default: the caller's module
    assert sorted(worker.registry) == [('add', '1'), ('greet', '2')]
    assert worker.registry[('greet', '2')].func is greeting
    assert greeting('Bo', punctuation='?') == 'hello Bo?'  # still a plain function
    by_name = SWFActivityWorker().scan(__name__)
    assert sorted(by_name.registry) == sorted(worker.registry)
    assert SWFActivityWorker.category == ACTIVITY_CATEGORY


def test_scan_runs_a_scanned_activity():
    worker = SWFActivityWorker().scan(sys.modules[__name__])
    stub = handle(worker, task('greet', '2', args=('Cy',), kwargs={'punctuation': '.'}))
    assert stub.calls == [('completed', 'token-1', '"hello Cy."')]


def test_register_checks_the_config_and_duplicates():
    worker = make_worker(add)
    with pytest.raises(ValueError, match='registered twice'):
        worker.register(activities, add, '1')
    with pytest.raises(TypeError, match='SWFActivityConfig'):
        worker.register(workflows, add, '9')


# -- on moto's SWF ---------------------------------------------------------------------------

def swf_setup(raw, *workers):
    client = SWFClient(client=raw)
    client.register_domain(DOMAIN)
    client.register_workflow_type(DOMAIN, 'wf', '1', task_list='decide', workflow_duration='600',
                                  decision_duration='60', child_policy='TERMINATE')
    for worker in workers:
        worker.register_remote(client, DOMAIN)
    return client


def decide(client, decisions):
    decision = client.poll_for_decision_task(DOMAIN, 'decide', identity='decider')
    assert decision.get('taskToken')
    client.respond_decision_task_completed(decision['taskToken'], decisions=decisions)
    return decision


def schedule(client, name, version='1', args=(), kwargs=None, workflow_id='wf-1', text=None):
    """Start a workflow and schedule one activity task in it, as a decider would."""
    started = client.start_workflow_execution(DOMAIN, workflow_id, 'wf', '1')
    decide(client, [{
        'decisionType': 'ScheduleActivityTask',
        'scheduleActivityTaskDecisionAttributes': {
            'activityType': {'name': name, 'version': version}, 'activityId': name + '-0-0',
            'input': JSON.dumps([list(args), kwargs or {}]) if text is None else text}}])
    return workflow_id, started['runId']


def events(client, workflow_id, run_id):
    history = client.get_workflow_execution_history(DOMAIN, workflow_id, run_id)
    return [(event['eventType'], next((value for key, value in event.items()
                                       if key.endswith('EventAttributes')), {}))
            for event in history['events']]


def last_activity_event(client, workflow_id, run_id):
    found = [(kind, attributes) for kind, attributes in events(client, workflow_id, run_id)
             if kind.startswith('ActivityTask')]
    return found[-1]


def poll_and_handle(worker, client):
    found = worker.poll(client, DOMAIN, TASK_LIST, 'tester')
    assert found is not None
    worker.handle(client, found)
    return found


def test_on_moto_a_task_completes_with_the_result(swf_client):
    worker = make_worker(add)
    client = swf_setup(swf_client, worker)
    ids = schedule(client, 'add', args=(2, 3), kwargs={'scale': 10})
    poll_and_handle(worker, client)
    assert last_activity_event(client, *ids) == ('ActivityTaskCompleted', {
        'result': '50', 'scheduledEventId': 5, 'startedEventId': 6})


def test_on_moto_a_failure_fits_swf_limits(swf_client):
    def fails():
        raise ValueError('no ' * 200)

    worker = make_worker(fails)
    client = swf_setup(swf_client, worker)
    ids = schedule(client, 'fails')
    poll_and_handle(worker, client)
    kind, attributes = last_activity_event(client, *ids)
    assert kind == 'ActivityTaskFailed'
    assert attributes['reason'] == ('no ' * 200)[:MAX_REASON]
    assert 'Traceback' in attributes['details'] and ('no ' * 200).strip() in attributes['details']


def test_on_moto_heartbeats_and_a_cancel_request(swf_client):
    seen = []
    client = None

    def cancellable():
        seen.append(flowy.heartbeat('starting'))
        # The workflow asks for the cancellation while the activity runs.
        client.client.signal_workflow_execution(domain=DOMAIN, workflowId='wf-1',
                                                signalName='stop', input='')
        decide(client, [{'decisionType': 'RequestCancelActivityTask',
                         'requestCancelActivityTaskDecisionAttributes': {
                             'activityId': 'cancellable-0-0'}}])
        seen.append(flowy.heartbeat({'step': 2}))
        if seen[-1]:
            raise RuntimeError('cancelled at step 2')
        return 'not cancelled'

    worker = make_worker(cancellable)
    client = swf_setup(swf_client, worker)
    ids = schedule(client, 'cancellable')
    poll_and_handle(worker, client)
    assert seen == [False, True]
    kind, attributes = last_activity_event(client, *ids)
    assert kind == 'ActivityTaskCanceled'
    assert 'cancelled at step 2' in attributes['details']


def test_on_moto_a_timed_out_task_is_told_to_stop(swf_client, swf_clock, caplog):
    caplog.set_level(logging.INFO, logger='flowy.swf')
    seen = []

    def slow():
        seen.append(flowy.heartbeat())
        swf_clock(31)  # past the 30 s heartbeat timeout
        seen.append(flowy.heartbeat('too late'))
        return 'late'

    worker = make_worker(slow)
    client = swf_setup(swf_client, worker)
    ids = schedule(client, 'slow')
    poll_and_handle(worker, client)
    assert seen == [False, True]
    kind, attributes = last_activity_event(client, *ids)
    assert kind == 'ActivityTaskTimedOut' and attributes['timeoutType'] == 'HEARTBEAT'
    assert 'returned in' in caplog.text and 'nothing was sent' in caplog.text


def test_on_moto_an_unknown_type_and_a_bad_input_fail(swf_client):
    other = SWFActivityWorker()
    other.register(activities, add, '1', name='mystery')
    worker = make_worker(add)
    client = swf_setup(swf_client, worker, other)
    first = schedule(client, 'mystery', args=(1, 2), workflow_id='wf-1')
    second = schedule(client, 'add', text='{not json', workflow_id='wf-2')
    poll_and_handle(worker, client)
    poll_and_handle(worker, client)
    kind, attributes = last_activity_event(client, *first)
    assert kind == 'ActivityTaskFailed'
    assert 'mystery version 1' in attributes['reason'] and 'add 1' in attributes['reason']
    kind, attributes = last_activity_event(client, *second)
    assert kind == 'ActivityTaskFailed'
    assert 'cannot decode the input of activity add 1' in attributes['reason']


def test_on_moto_a_too_large_result_fails_the_task(swf_client):
    def big():
        return 'x' * 40000

    worker = make_worker(big)
    client = swf_setup(swf_client, worker)
    ids = schedule(client, 'big')
    poll_and_handle(worker, client)
    kind, attributes = last_activity_event(client, *ids)
    assert kind == 'ActivityTaskFailed'
    assert '40002 characters' in attributes['reason']


def test_on_moto_run_forever_handles_tasks_until_stopped(swf_client):
    worker = make_worker(add)
    completed = threading.Event()

    class Watched(SWFClient):
        def respond_activity_task_completed(self, task_token, result=None):
            try:
                return super().respond_activity_task_completed(task_token, result)
            finally:
                worker.stop()
                completed.set()

    client = Watched(client=swf_client)
    swf_setup(swf_client, worker)  # a decider can only schedule registered types
    ids = schedule(client, 'add', args=(40, 2))
    # register_remote=True: the worker checks the registered types first
    thread, errors = run_in_thread(worker, client)
    assert completed.wait(PROMPT)
    thread.join(PROMPT)
    assert not thread.is_alive() and not errors
    assert last_activity_event(client, *ids)[1]['result'] == '42'


def test_on_moto_registration_registers_the_defaults_once(swf_client):
    client = swf_setup(swf_client)
    activity = make_worker(add).registry[('add', '1')]
    assert activity.register_remote(client, DOMAIN) is True
    assert activity.register_remote(client, DOMAIN) is False  # exists, same defaults
    described = client.describe_activity_type(DOMAIN, 'add', '1')['configuration']
    assert described['defaultTaskList'] == {'name': TASK_LIST}
    assert described['defaultTaskHeartbeatTimeout'] == '30'
    assert described['defaultTaskScheduleToCloseTimeout'] == '600'
    assert described['defaultTaskScheduleToStartTimeout'] == '300'
    assert described['defaultTaskStartToCloseTimeout'] == '300'


def test_on_moto_other_defaults_raise_naming_the_differences(swf_client):
    client = swf_setup(swf_client, make_worker(add))
    changed = SWFActivityConfig(default_task_list='elsewhere', default_heartbeat=60,
                                default_schedule_to_close=600, default_schedule_to_start=300,
                                default_start_to_close=300)
    worker = SWFActivityWorker()
    worker.register(changed, add, '1')
    with pytest.raises(SWFRegistrationError) as raised:
        worker.register_remote(client, DOMAIN)
    message = str(raised.value)
    assert 'add version 1' in message
    assert "defaultTaskList is 'work' on SWF, 'elsewhere' here" in message
    assert "defaultTaskHeartbeatTimeout is '30' on SWF, '60' here" in message
    assert 'ScheduleToClose' not in message
    # run_forever registers first, and refuses to poll with other defaults
    stub_polls = []

    class Recording(SWFClient):
        def poll_for_activity_task(self, *args, **kwargs):  # pragma: no cover - must not run
            stub_polls.append(args)
            worker.stop()
            return {}

    with pytest.raises(SWFRegistrationError):
        worker.run_forever(DOMAIN, TASK_LIST, swf_client=Recording(client=swf_client),
                           setup_log=False)
    assert stub_polls == []


def test_on_moto_a_deprecated_type_is_refused(swf_client):
    client = swf_setup(swf_client, make_worker(add))
    swf_client.deprecate_activity_type(domain=DOMAIN, activityType={'name': 'add',
                                                                     'version': '1'})
    with pytest.raises(SWFRegistrationError, match='deprecated'):
        make_worker(add).register_remote(client, DOMAIN)


# -- async def activities and events ------------------------------------------------------------

async def fetch(n):
    import asyncio

    await asyncio.sleep(0)
    return [n, flowy.context().key, flowy.heartbeat()]


async def refuse(n):
    raise ValueError('no %d' % n)


def test_an_async_def_activity_is_awaited_and_its_value_sent():
    stub = handle(make_worker(fetch), task('fetch', args=(4,)))
    assert stub.calls[-1] == ('completed', 'token-1', JSON.dumps([4, 'fetch-0-0', False]))


def test_an_async_def_activity_that_raises_fails_the_task():
    stub = handle(make_worker(refuse), task('refuse', args=(5,)))
    assert stub.calls[-1][:3] == ('failed', 'token-1', 'no 5')


def test_the_activity_worker_sends_task_events():
    from recording import Recorder

    with Recorder() as recorder:
        handle(make_worker(add), task('add', args=(2, 3)))
        handle(make_worker(refuse), task('refuse', args=(5,)))
    heard = [(name, fields['key'], fields['run_id'], fields.get('reason'))
             for name, sender, fields in recorder.heard if sender == 'swf-activity']
    assert heard == [('task_started', 'add-0-0', 'run-1', None),
                     ('task_finished', 'add-0-0', 'run-1', None),
                     ('task_started', 'refuse-0-0', 'run-1', None),
                     ('task_failed', 'refuse-0-0', 'run-1', 'no 5')]
