"""A deployment that waits for a person's approval, for at most a day.

The workflow sends a request, then waits for the ``approve`` signal or a 24-hour timer,
whichever comes first.  The run is started with ``start()``, whose handle sends the
signal (from a web hook, a chat bot, or ``flowy local signal`` for a stored run); a
second run is given a deadline of a tenth of a second, and nobody answers it.
"""

from concurrent.futures import ThreadPoolExecutor

from flowy import LocalWorkflow, first, sleep, wait, wait_signal

DAY = 24 * 3600


def ask(request):
    print('asking for approval of %r' % request, flush=True)
    return request


def deploy(request, approver):
    return 'deployed %s (approved by %s)' % (request, approver)


class Deployment:
    def __init__(self, ask, deploy):
        self.ask, self.deploy = ask, deploy

    def __call__(self, request, deadline=DAY):
        self.ask(request)
        approver = wait(first(wait_signal('approve'), sleep(deadline)))
        if approver is None:
            return 'not deployed: nobody approved %s in time' % request
        return self.deploy(request, approver)


def main():
    with LocalWorkflow(Deployment, executor=ThreadPoolExecutor) as workflow:
        workflow.conf_activity('ask', ask)
        workflow.conf_activity('deploy', deploy)
        run = workflow.start('release 2.1')
        run.signal('approve', 'ana')
        print(run.result())
        print(workflow.run('release 2.2', deadline=0.1))


if __name__ == '__main__':
    main()
