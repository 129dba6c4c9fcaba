"""flowy.events from the SWF decider: runs, decisions, scheduled calls and outcomes."""


from recording import Recorder
from test_effects_moto import BOTH, Workers

from flowy import events
from flowy.history import History
from flowy.swf.observing import report_decision


def test_a_decision_reports_only_the_outcomes_after_those_reported():
    history = History()
    history.scheduled('square-0-0', 0)
    history.completed('square-0-0', '4')
    history.scheduled('boom-0-0', 1)
    history.failed('boom-0-0', 'no')
    history.scheduled('slow-0-0', 2)
    history.timed_out('slow-0-0', 'too slow')
    decisions = [{'decisionType': 'ScheduleActivityTask',
                  'scheduleActivityTaskDecisionAttributes': {'activityId': 'slow-0-1'}},
                 {'decisionType': 'StartTimer',
                  'startTimerDecisionAttributes': {'timerId': '@sleep-0'}},
                 {'decisionType': 'StartTimer',
                  'startTimerDecisionAttributes': {'timerId': 'slow-0-1.retry'}}]
    heard = []

    def receive(sender, **fields):
        heard.append((fields.get('key'), fields))

    for signal in events.ALL.values():
        signal.connect(receive)
    try:
        seen = report_decision(('wid', 'rid'), 'Flow', history, False, 1, decisions, 0.001)
    finally:
        for signal in events.ALL.values():
            signal.disconnect(receive)
    assert seen == 3
    assert [key for key, _ in heard] == ['boom-0-0', 'slow-0-0', None, 'slow-0-1', 'slow-0-1',
                                         '@sleep-0']
    assert heard[0][1]['reason'] == 'no' and heard[1][1]['reason'] == 'too slow'
    assert heard[3][1]['kind'] == 'activity' and heard[5][1]['kind'] == 'timer'
    assert all(fields['run_id'] == 'rid' and fields['workflow'] == 'Flow'
               for _, fields in heard)


@BOTH
def test_the_decider_reports_a_run_from_start_to_end(swf_client, driver):
    with Recorder() as recorder, Workers(swf_client, driver) as workers:
        run = workers.start('Clock')
        workers.result(run)
    heard = recorder.of_run(run[1], 'swf-decider')
    names = [name for name, _ in heard]
    assert names[0] == 'run_started' and names[-1] == 'run_finished'
    assert heard[0][1]['workflow'] == 'Clock'
    assert [name for name, fields in heard if fields.get('key') == 'square-0-0'] == [
        'task_scheduled', 'task_finished']  # once each, whatever the driver kept
    assert names.count('decision_made') >= 2
