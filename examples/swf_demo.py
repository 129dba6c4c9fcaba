"""SumSquares on Amazon SWF, or on a moto server that stands in for it.

The workflow and activities are the ones of sum_squares.py, decorated so that SWF
workers find them.  Run as a script, this file plays every part in one process: it
registers a domain, starts a decider and an activity worker in threads, starts an
execution, waits for its result and stops the workers.  In production those parts are
separate processes on separate machines (see docs/swf.rst and the flowy command).

Without an AWS account, start a moto server on this machine and point boto3 at it::

    python -m pip install -e '.[test]'                # moto, flask and flask-cors
    python -m moto.server -H 127.0.0.1 -p 5000 &      # only on the loopback interface
    AWS_ENDPOINT_URL_SWF=http://127.0.0.1:5000 AWS_DEFAULT_REGION=us-east-1 \\
        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
        python examples/swf_demo.py 10                 # prints 285

With real AWS credentials and no endpoint set, the same command runs on SWF itself
(in the domain ``flowy-demo``, registered if missing).
"""

import sys
import threading

from flowy import (
    SWFActivityConfig,
    SWFActivityWorker,
    SWFClient,
    SWFWorkflowConfig,
    SWFWorkflowStarter,
    SWFWorkflowWorker,
    parallel_reduce,
)
from flowy.swf.client import error_code
from flowy.swf.status import wait_for_result

DOMAIN = 'flowy-demo'
DECISIONS = 'demo-decisions'
WORK = 'demo-work'

activities = SWFActivityConfig(default_task_list=WORK, default_schedule_to_start=300,
                               default_start_to_close=60, default_schedule_to_close=360,
                               default_heartbeat='NONE')


@activities(version='1')
def square(n):
    return n * n


@activities(version='1')
def add(a, b):
    return a + b


workflows = SWFWorkflowConfig(default_task_list=DECISIONS, default_workflow_duration=600,
                              default_decision_duration=30, default_child_policy='TERMINATE')
workflows.conf_activity('square', version='1')
workflows.conf_activity('add', version='1')


@workflows(version='1')
class SumSquares:
    def __init__(self, square, add):
        self.square = square
        self.add = add

    def __call__(self, n=5):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


def ensure_domain(client, name):
    try:
        client.register_domain(name, retention_days=1)
    except Exception as exc:  # a domain registered by an earlier run is fine
        if error_code(exc) != 'DomainAlreadyExistsFault':
            raise


def main(n):
    client = SWFClient()
    ensure_domain(client, DOMAIN)
    decider, worker = SWFWorkflowWorker(), SWFActivityWorker()
    decider.scan()  # this module: the package of the code calling scan()
    worker.scan()
    decider.register_remote(client, DOMAIN)
    worker.register_remote(client, DOMAIN)
    threads = [threading.Thread(target=w.run_forever, args=(DOMAIN, task_list),
                                kwargs={'swf_client': client, 'register_remote': False,
                                        'setup_log': False}, daemon=True)
               for w, task_list in ((decider, DECISIONS), (worker, WORK))]
    for thread in threads:
        thread.start()
    try:
        start = SWFWorkflowStarter(DOMAIN, 'SumSquares', '1', swf_client=client)
        workflow_id, run_id = start.start(n)
        return wait_for_result(client, DOMAIN, workflow_id, run_id, timeout=300)
    finally:
        decider.stop()
        worker.stop()
        for thread in threads:  # each ends when its current long poll returns
            thread.join(timeout=70)


if __name__ == '__main__':
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
