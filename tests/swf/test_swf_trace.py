"""``flowy trace`` and flowy.swf.trace: an SWF execution drawn from its stored history.

A synthetic history (tests/swf/swf_events.py) checks what each event becomes; a run on
in-process moto (a decider and an activity worker in threads, as in
test_decider_moto.py) with a fan-out, a failure, a timer, a marker, a child workflow
and a restart is traced end to end, through the function and the command, and rendered
with Graphviz where it is installed.
"""

import json
import re
import shutil
import threading
import time

import pytest
from worker_threads import WorkerThreads

import flowy
from flowy import TaskError, restart, wait
from flowy.serialization import dumps, loads
from flowy.trace_render import to_dot

DOMAIN = 'flowy-trace'
DECISIONS = 'trace-decisions'
WORK = 'trace-work'
TIMEOUT = 30
FAN_OUT = 12  # more than trace_render.GROUP_OVER: one group node


def nodes(source):
    """``{node id: attribute text}`` of the node lines of a DOT source."""
    found = {}
    for line in source.splitlines():
        match = re.match(r'^\s*"((?:[^"\\]|\\.)*)" \[(.*)\]$', line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def label(attrs):
    return re.match(r'label="((?:[^"\\]|\\.)*)"', attrs).group(1)


# -- from a synthetic history ----------------------------------------------------------------

def synthetic_history():
    from swf_events import EventLog

    log = EventLog()
    log.workflow_started(input=dumps([[3], {}]), name='Fan')
    first = log.decision_round()
    scheduled = [log.activity_scheduled('square-%d-0' % i, first, position=i,
                                        input=dumps([[i], {}])) for i in range(3)]
    timer = log.timer_started('@sleep-0', first, seconds='5',
                              control=json.dumps({'position': 3}))
    log.marker_recorded('seen', json.dumps({'key': '@marker-0', 'position': 4,
                                            'value': dumps({'n': 3})}), first)
    child = log.child_initiated('Sub-0-0', first, 'wid.Sub-0-0', position=5, name='Sub',
                                input=dumps([[2], {}]))
    log.activity_completed(scheduled[0], result=dumps(0))
    log.activity_failed(scheduled[1], reason='ValueError: boom',
                        details='Traceback (most recent call last): ...')
    log.activity_timed_out(scheduled[2], 'START_TO_CLOSE')
    log.timer_fired('@sleep-0', timer)
    log.signaled('approve', dumps('yes'))
    log.child_completed(child, result=dumps(4))
    second = log.decision_round()
    cancelled = log.activity_scheduled('square-9-0', second, position=6)
    log.activity_cancel_requested('square-9-0', second)
    log.activity_canceled(cancelled)
    log.marker_recorded('flowy.cancelled', json.dumps({'key': 'late-0-0', 'position': 7}),
                        second)
    third = log.decision_round()
    log.continued_as_new(third, {'input': dumps([[2], {}])}, name='Fan')
    return log.events


def test_a_history_becomes_calls_with_kinds_states_inputs_and_times():
    from flowy.swf.trace import trace_events

    events = synthetic_history()
    run, links = trace_events(events, 'wid', 'run-1')
    assert (run.id, run.name, run.state) == ('run-1', 'Fan', 'restarted')
    assert loads(run.input) == [[3], {}] and loads(run.detail) == [[2], {}]
    assert links.continued_as == 'run-%d' % len(events) and links.continued_from is None
    initiated = next(event['eventId'] for event in events
                     if event['eventType'] == 'StartChildWorkflowExecutionInitiated')
    assert links.children == [('wid.Sub-0-0', 'run-%d' % initiated, 'Sub-0-0')]
    shown = {key: (call.dep, call.kind, call.state, call.decision)
             for key, call in run.tasks.items()}
    assert shown == {
        'square-0-0': ('square', 'activity', 'completed', 1),
        'square-1-0': ('square', 'activity', 'failed', 1),
        'square-2-0': ('square', 'activity', 'timedout', 1),
        '@sleep-0': ('@sleep', 'timer', 'completed', 1),
        '@marker-0': ('@marker', 'marker', 'completed', 1),
        'Sub-0-0': ('Sub', 'workflow', 'completed', 1),
        '@signal-approve-0': ('@signal', 'signal', 'completed', None),
        'square-9-0': ('square', 'activity', 'cancelled', 2),
        'late-0-0': ('late', 'activity', 'cancelled', 2),
    }
    calls = run.tasks
    assert loads(calls['square-0-0'].input) == [[0], {}] and calls['square-0-0'].detail == '0'
    assert calls['square-1-0'].detail == 'ValueError: boom'
    assert calls['square-2-0'].detail == 'START_TO_CLOSE timeout'
    assert calls['square-9-0'].detail == 'square-9 was cancelled'
    assert calls['@sleep-0'].input == '5' and calls['@marker-0'].input == 'seen'
    assert loads(calls['@marker-0'].detail) == {'n': 3}
    assert loads(calls['@signal-approve-0'].detail) == 'yes'
    assert loads(calls['Sub-0-0'].detail) == 4
    # times are the events' timestamps (EventLog: one second per event)
    stamp = {event['eventId']: event['eventTimestamp'].timestamp() for event in events}
    square = calls['square-0-0']
    assert square.scheduled == stamp[5]
    assert square.scheduled < square.started < square.finished
    assert run.started == stamp[1] and run.finished == stamp[len(events)]


def test_a_synthetic_trace_draws_every_kind_and_state():
    from flowy.swf.trace import trace_events

    run, _ = trace_events(synthetic_history(), 'wid', 'run-1')
    source = to_dot({run.id: run})
    drawn = nodes(source)
    assert 'failed: ValueError: boom' in label(drawn['wrun-1/square-1-0'])
    assert 'timed out' in label(drawn['wrun-1/square-2-0'])
    assert 'cancelled' in label(drawn['wrun-1/square-9-0'])
    assert label(drawn['wrun-1/@sleep-0']).endswith('fired')
    assert "= {'n': 3}" in label(drawn['wrun-1/@marker-0'])
    assert 'shape="octagon"' in drawn['wrun-1/@sleep-0']
    assert 'shape="note"' in drawn['wrun-1/@marker-0']
    assert 'shape="cds"' in drawn['wrun-1/@signal-approve-0']
    assert 'shape="box"' in drawn['wrun-1/Sub-0-0']
    assert 'decision 2' in label(drawn['wrun-1/square-9-0'])
    assert 'call: square(1)' in drawn['wrun-1/square-1-0']  # the input, in the tooltip
    assert 'Fan (run run-1) restarted' in source


def test_a_run_still_open_has_running_calls():
    from swf_events import EventLog

    from flowy.swf.trace import trace_events

    log = EventLog()
    log.workflow_started(input=dumps([[1], {}]))
    log.activity_scheduled('square-0-0', log.decision_round())
    run, _ = trace_events(log.events, 'wid')
    assert run.id == 'wid' and run.state == 'running' and run.finished is None
    assert run.tasks['square-0-0'].state == 'running'
    assert 'dotted' in nodes(to_dot([run]))['wwid/square-0-0']


def test_an_unreadable_payload_reference_is_shown_as_it_is():
    from swf_events import EventLog

    from flowy.swf.payload import PayloadMissing
    from flowy.swf.trace import trace_events

    class Gone:
        def get(self, reference):
            raise PayloadMissing('gone')

    reference = 'flowy-payload:s3://bucket/key'
    log = EventLog()
    log.workflow_started(input=dumps([[1], {}]))
    scheduled = log.activity_scheduled('square-0-0', log.decision_round(), input=reference)
    log.activity_completed(scheduled, result=reference)
    run, _ = trace_events(log.events, 'wid', payload_store=Gone())
    call = run.tasks['square-0-0']
    assert call.input == reference
    assert call.state in ('completed', 'failed')  # as the decider saw it
    to_dot([run])


# -- on moto -------------------------------------------------------------------------------

def square(n):
    return n * n


def boom(n):
    raise ValueError('boom %s' % n)


def _workflows():
    from flowy.swf.config import SWFActivityConfig, SWFWorkflowConfig

    activities = SWFActivityConfig(default_task_list=WORK, default_heartbeat=300,
                                   default_schedule_to_close=600,
                                   default_schedule_to_start=300, default_start_to_close=300)
    workflows = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=3600,
                                  default_decision_duration=60,
                                  default_child_policy='TERMINATE')
    workflows.conf_activity('square', version='1')
    workflows.conf_activity('boom', version='1')
    workflows.conf_workflow('child', version='1', name='Small')
    return activities, workflows


class Traced:
    """Round 0: a marker, a fan-out, a failure, a timer and a child; then a restart."""

    def __init__(self, square, boom, child):
        self.square, self.boom, self.child = square, boom, child

    def __call__(self, n, round=0):
        if round:
            return wait(self.square(n))
        flowy.marker('seen', {'n': n})
        squares = [self.square(i) for i in range(n)]
        timer = flowy.sleep(0.2)  # SWF counts whole seconds: 1 s
        failing = self.boom(n)
        child = self.child(3)
        wait(timer)
        try:
            wait(failing)
        except TaskError:
            pass
        total = sum(wait(result) for result in squares) + wait(child)
        return restart(total, round=1)


class Small:
    def __init__(self, square, boom, child):
        self.square = square

    def __call__(self, n):
        return wait(self.square(n)) + 1


class Workers(WorkerThreads):
    """A decider and an activity worker in threads on one client; stopped on exit."""

    def __init__(self, boto3_client):
        from flowy.swf.activity import SWFActivityWorker
        from flowy.swf.client import SWFClient, error_code
        from flowy.swf.decider import SWFWorkflowWorker

        activities, workflows = _workflows()
        self.client = SWFClient(client=boto3_client)
        try:
            self.client.register_domain(DOMAIN)
        except Exception as exc:
            if error_code(exc) != 'DomainAlreadyExistsFault':
                raise
        self.decider = SWFWorkflowWorker()
        for factory in (Traced, Small):
            self.decider.register(workflows, factory, '1')
        self.activities = SWFActivityWorker()
        for function in (square, boom):
            self.activities.register(activities, function, '1')
        self.decider.register_remote(self.client, DOMAIN)
        self.activities.register_remote(self.client, DOMAIN)
        self.threads = [
            threading.Thread(target=worker.run_forever, args=(DOMAIN, task_list),
                             kwargs=dict(swf_client=self.client, setup_log=False,
                                         register_remote=False, identity=name), daemon=True)
            for worker, task_list, name in [(self.decider, DECISIONS, 'decider'),
                                            (self.activities, WORK, 'activities')]]
        self.workers = [self.decider, self.activities]


    def run(self, *args):
        from flowy.swf.status import wait_for_result

        workflow = self.decider.registry[('Traced', '1')]
        workflow_id = 'Traced-%d' % time.monotonic_ns()
        self.client.start_workflow_execution(DOMAIN, workflow_id, 'Traced', '1',
                                             input=workflow._encode_input(list(args), {}))
        return workflow_id, wait_for_result(self.client, DOMAIN, workflow_id,
                                            timeout=TIMEOUT)


@pytest.fixture
def traced_run(swf_client):
    with Workers(swf_client) as workers:
        workflow_id, result = workers.run(FAN_OUT)
    total = sum(i * i for i in range(FAN_OUT)) + 10
    assert result == total * total
    return workflow_id


def test_a_moto_execution_is_traced_with_its_restart_and_child(swf_client, traced_run):
    from flowy.swf.trace import trace_execution

    runs = trace_execution(swf_client, DOMAIN, traced_run)
    first, second, child = runs.values()
    assert (first.name, first.state, first.parent) == ('Traced', 'restarted', None)
    assert first.restarted_as == second.id
    assert (second.name, second.state) == ('Traced', 'completed')
    assert (child.name, child.state, child.parent, child.parent_key) == (
        'Small', 'completed', first.id, 'child-0-0')
    assert loads(child.detail) == 10 and loads(child.input) == [[3], {}]
    calls = first.tasks
    assert sum(1 for call in calls.values() if call.dep == 'square') == FAN_OUT
    assert all(calls['square-%d-0' % i].state == 'completed' for i in range(FAN_OUT))
    assert calls['boom-0-0'].state == 'failed' and 'boom 12' in calls['boom-0-0'].detail
    assert (calls['@sleep-0'].kind, calls['@sleep-0'].state) == ('timer', 'completed')
    assert calls['@marker-0'].kind == 'marker' and loads(calls['@marker-0'].detail) == {'n': 12}
    assert calls['child-0-0'].kind == 'workflow' and calls['child-0-0'].dep == 'Small'
    for call in calls.values():
        assert call.scheduled is not None and call.finished is not None, call
        assert call.scheduled <= call.finished
    square = calls['square-0-0']
    assert square.decision == 1 and square.scheduled <= square.started <= square.finished
    # one run only, as the command's --no-restarts --no-children draws it
    alone = trace_execution(swf_client, DOMAIN, traced_run, run_id=first.id, children=False,
                            restarts=False)
    assert list(alone) == [first.id]

    source = to_dot(runs)
    drawn = nodes(source)
    group = next(attrs for node, attrs in drawn.items() if node.startswith('group/'))
    assert label(group).startswith('square x 12')
    assert 'failed: ' in label(drawn['w%s/boom-0-0' % first.id])
    assert label(drawn['w%s/@sleep-0' % first.id]).endswith('fired')
    assert 'shape="note"' in drawn['w%s/@marker-0' % first.id]
    assert '"w%s/child-0-0" -> "w%s/start" [label=child' % (first.id, child.id) in source
    assert '"w%s/start" -> "w%s/start" [label=restart' % (first.id, second.id) in source


def test_the_trace_command_writes_dot_and_svg(swf_client, traced_run, tmp_path, capsys):
    from flowy.swf.cli.main import main

    path = tmp_path / 'traces' / 'run'
    assert main(['trace', DOMAIN, traced_run, str(path)]) == 0
    out = capsys.readouterr().out
    assert 'trace written to %s.dot' % path in out
    source = (tmp_path / 'traces' / 'run.dot').read_text(encoding='utf-8')
    assert 'square x 12' in source and 'Small (run ' in source
    if shutil.which('dot') is None:
        pytest.skip('Graphviz is not installed: the SVG is not drawn')
    svg = (tmp_path / 'traces' / 'run.svg').read_text(encoding='utf-8')
    svg = svg.replace('&#45;', '-')  # Graphviz writes dashes as entities
    assert 'trace written to %s.svg' % path in out
    assert svg.lstrip().startswith(('<?xml', '<!DOCTYPE', '<svg'))
    assert 'square x 12' in svg and 'boom-0-0' in svg


def test_the_trace_command_reports_an_unknown_execution(swf_client, tmp_path, capsys):
    from flowy.swf.cli.main import main
    from flowy.swf.client import SWFClient

    SWFClient(client=swf_client).register_domain(DOMAIN)
    assert main(['trace', DOMAIN, 'no-such-id', str(tmp_path / 'run')]) == 1
    assert 'no-such-id' in capsys.readouterr().err
    assert main(['trace', DOMAIN, 'no-such-id', '--run-id', 'r1', str(tmp_path / 'run')]) == 1
    assert 'SWF knows no execution no-such-id (run r1)' in capsys.readouterr().err
    assert not (tmp_path / 'run.dot').exists()


def test_without_graphviz_the_command_writes_the_dot_file_and_warns(swf_client, traced_run,
                                                                     tmp_path, capsys,
                                                                     monkeypatch):
    from flowy.swf.cli.main import main

    (tmp_path / 'empty').mkdir()
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    assert main(['trace', DOMAIN, traced_run, '--no-children', str(tmp_path / 'run')]) == 0
    captured = capsys.readouterr()
    assert captured.out == 'trace written to %s\n' % (tmp_path / 'run.dot')
    assert captured.err.startswith('flowy trace: warning: the trace %s was written as DOT '
                                   'only: Graphviz is not installed' % (tmp_path / 'run.dot'))
    assert 'Small (run ' not in (tmp_path / 'run.dot').read_text(encoding='utf-8')
