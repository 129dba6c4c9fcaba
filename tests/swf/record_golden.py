"""Record the golden SWF histories of ``tests/swf/golden/`` (run by hand, rarely).

Usage, from the repository root::

    python tests/swf/record_golden.py            # every case
    python tests/swf/record_golden.py fan_out    # only the named cases

It runs the workflows of ``golden_workflows.py`` on in-process moto with
``tests/swf/moto_ext.py`` installed (dummy credentials, no network), with flowy's real
decider (cached driver) and three activity workers in threads.  The decider's client is a
:class:`golden_workflows.RecordingClient`, which keeps every response it sent.  Once a run
closed, its history is fetched with ``get_workflow_execution_history`` (every page), and
``golden/<case>.json`` gets the events and the decisions the live decider sent at each
decision task (see ``golden_workflows.py`` for the format; ``eventTimestamp`` is written
as ISO 8601 in UTC).  Before a file is written, the history is replayed offline with both
drivers and must give the same decisions; the script stops otherwise.

Recording again gives other run ids, timestamps and possibly other completion orders:
re-record only when the format or an intended behaviour changes, and review the diff.
The ``timeout_retry`` case takes a few seconds of real time (a 1 s start-to-close timeout,
then a 1 s retry timer).

For the ``nondeterministic`` case, the history of ``Drift`` is also replayed, one decision
point at a time by a fresh decider, with ``DriftChanged`` registered as ``Drift`` 1;
``changedDecisions`` holds what that decider answers.
"""

import logging
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, 'golden')
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import golden_workflows as gw  # noqa: E402


def check_replay(record):
    """Stop unless both drivers, fed the history offline, send what the live decider sent."""
    expected = gw.recorded_decisions(record)
    for driver in ('cached', 'replay'):
        decider = gw.make_decider(driver)
        try:
            got = gw.replay_decisions(record, decider)
        finally:
            decider.close()
        if got != expected:
            for (started, want), (_, have) in zip(expected, got, strict=False):
                if want != have:
                    raise SystemExit('%s: the %s driver decides otherwise at event %d:\n'
                                     '  live:   %s\n  replay: %s' % (record['case'], driver,
                                                                     started, want, have))
            raise SystemExit('%s: the %s driver answered other decision points'
                             % (record['case'], driver))


def changed_decisions(record):
    """What a fresh decider running DriftChanged as Drift answers at each decision point."""
    answers = []
    logger = logging.getLogger('flowy.swf.decider')
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # failing the run is what is being recorded here
    try:
        for point in gw.decision_points(record['events']):
            decider = gw.make_decider('replay', changed=True)
            [(started, decisions)] = gw.replay_decisions(record, decider, [point])
            answers.append({'startedEventId': started, 'decisions': decisions})
    finally:
        logger.setLevel(level)
    return answers


def record_case(live, case):
    run_id, data = live.start(case)
    if case.act is not None:
        case.act(live, case.workflow_id, run_id)
    live.wait_closed(case.workflow_id, run_id)
    events = gw.fetch_history(live.swf, case.workflow_id, run_id)
    started = events[0]['workflowExecutionStartedEventAttributes']
    sent = live.recording.decisions_of(case.workflow_id, run_id)
    points = [started_id for started_id, _ in gw.decision_points(events)]
    if [started_id for started_id, _ in sent] != points:
        raise SystemExit('%s: the decider answered tasks %s, the history shows %s'
                         % (case.name, [started_id for started_id, _ in sent], points))
    missing = case.shows - {event['eventType'] for event in events}
    if missing:
        raise SystemExit('%s: the history has no %s events; record it again'
                         % (case.name, ', '.join(sorted(missing))))
    record = {
        'format': gw.FORMAT,
        'case': case.name,
        'description': case.description,
        'recordedWith': 'record_golden.py: flowy %s, moto %s with moto_ext.py, cached driver'
                        % (flowy_version(), moto_version()),
        'workflowType': started['workflowType'],
        'workflowId': case.workflow_id,
        'runId': run_id,
        'input': data,
        'timestamps': 'eventTimestamp: ISO 8601 in UTC (boto3 gives a datetime)',
        'events': events,
        'decisions': [{'startedEventId': started_id, 'decisions': decisions}
                      for started_id, decisions in sent],
    }
    record = gw.load_golden_text(gw.dump_golden(record))  # check what will be read back
    check_replay(record)
    if case.changed:
        record['changedBody'] = 'DriftChanged'
        record['changedDecisions'] = changed_decisions(record)
    path = os.path.join(GOLDEN, case.name + '.json')
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write(gw.dump_golden(record))
    print('%-22s %3d events, %2d decision tasks, closed by %s -> %s'
          % (case.name, len(events), len(points), events[-1]['eventType'],
             os.path.relpath(path)))


def flowy_version():
    import flowy

    return flowy.__version__


def moto_version():
    import moto

    return moto.__version__


def main(names):
    known = [case.name for case in gw.CASES]
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit('unknown cases: %s (known: %s)' % (', '.join(sorted(unknown)),
                                                            ', '.join(known)))
    cases = [case for case in gw.CASES if not names or case.name in names]
    logging.basicConfig(level=logging.WARNING,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    os.environ.pop('AWS_PROFILE', None)
    os.environ.update({'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing',
                       'AWS_SESSION_TOKEN': 'testing', 'AWS_DEFAULT_REGION': 'us-east-1'})
    import boto3
    import moto_ext
    from botocore.config import Config
    from moto import mock_aws

    os.makedirs(GOLDEN, exist_ok=True)
    moto_ext.install()
    with mock_aws():
        client = boto3.client('swf', region_name='us-east-1',
                              config=Config(retries={'total_max_attempts': 1}))
        with gw.Live(client) as live:
            for case in cases:
                record_case(live, case)


if __name__ == '__main__':
    main(sys.argv[1:])
