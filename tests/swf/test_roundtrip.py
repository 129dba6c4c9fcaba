"""Record and replay in one go: a live run on moto, then its history replayed offline.

The golden workflows run on in-process moto (``swf_client``: moto plus moto_ext) with the
real decider and three activity workers in threads; the decider's client records every
response it sends.  Once the run closed, the history of every run the decider answered
(children and continued runs too) is fetched with ``get_workflow_execution_history``,
through every page (moto_ext cuts pages at seven events here), and replayed through a
fresh decider with a stub client at each decision point, with both drivers.  The offline
decisions must be the ones the live decider sent, in order: the recorder (SWF's history)
and the replayer (flowy's decider) agree, whichever driver ran live.
"""

import pytest
from golden_workflows import CASES, Live, decision_points, fetch_history, make_decider
from golden_workflows import replay_decisions as replay

PAGE = 7
# real seconds: a 1 s timeout, then a 1 s retry timer; a 1 s deadline timer
SLOW_CASES = {'timeout_retry', 'approval_deadline'}


def live_params():
    for case in CASES:
        for driver in ('cached', 'replay'):
            if case.name in SLOW_CASES and driver == 'replay':
                continue  # once is enough for a case that takes seconds
            yield pytest.param(case, driver, id='%s-%s' % (case.name, driver))


@pytest.mark.parametrize('case, live_driver', list(live_params()))
def test_a_live_run_replays_offline_to_the_same_decisions(swf_client, case, live_driver):
    import moto_ext

    moto_ext.set_page_size(PAGE)  # the conftest fixture resets it
    with Live(swf_client, driver=live_driver) as live:
        run_id, _ = live.start(case)
        if case.act is not None:  # a signal, a cancel request
            case.act(live, case.workflow_id, run_id)
        live.wait_closed(case.workflow_id, run_id, timeout=30)
    recording = live.recording
    runs = recording.runs()
    assert runs[0] == (case.workflow_id, run_id)
    stats = live.decider.stats
    assert stats['failed'] == stats['unanswered'] == 0
    assert stats['responses'] == stats['decision_tasks'] == len(recording.sent)
    if case.name == 'child_workflows':
        assert len(runs) == 3  # the parent and its two children
    elif case.name == 'restart':
        assert len(runs) == 2  # the first run and the one it continued as

    for workflow_id, run in runs:
        events = fetch_history(live.swf, workflow_id, run)
        if run == run_id:
            assert case.shows <= {event['eventType'] for event in events}
        assert [event['eventId'] for event in events] == list(range(1, len(events) + 1))
        sent = recording.decisions_of(workflow_id, run)
        assert [started for started, _ in sent] == [
            started for started, _ in decision_points(events)], 'an unanswered decision task'
        record = {'workflowId': workflow_id, 'runId': run, 'events': events,
                  'workflowType': events[0]['workflowExecutionStartedEventAttributes'][
                      'workflowType']}
        for driver in ('cached', 'replay'):
            decider = make_decider(driver)
            try:
                assert replay(record, decider, page_size=PAGE) == sent, (workflow_id, driver)
            finally:
                decider.close()
