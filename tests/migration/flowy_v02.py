"""The original flowy's 0.1-0.3 examples (its first API generation), written for flowy today.

Each section between ``# [name]`` and ``# [/name]`` is shown in docs/coming_from.rst;
tests/migration/test_translations.py runs every one on the local engine.  The
tutorial's image work is done on small in-memory images, so nothing is downloaded.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import flowy
from flowy import LocalWorkflow, SWFActivityConfig, SWFWorkflowConfig, TaskError, wait, wait_signal


# [echo]
def echo(value=None, *args, **kwargs):
    # An Activity subclass's run() becomes a plain function, any signature.
    if value == 1:
        raise ValueError("cannot echo 1")
    return (value,) + args + tuple(kwargs.values())


class EchoWorkflow:
    # A workflow that calls no task still is a class: no tasks to receive.
    def __call__(self, value):
        return value


class EchoBoth:
    # ActivityProxy and WorkflowProxy class attributes become constructor
    # parameters; what they pointed at is configured outside the class.
    def __init__(self, echo_activity, echo_workflow):
        self.echo_activity = echo_activity
        self.echo_workflow = echo_workflow

    def __call__(self):
        return (self.echo_activity('activity echo'),
                self.echo_workflow('workflow echo'))


def run_echo_both():
    child = LocalWorkflow(EchoWorkflow)
    with LocalWorkflow(EchoBoth, executor=ThreadPoolExecutor) as w:
        w.conf_activity('echo_activity', echo, heartbeat=10)   # ActivityProxy(heartbeat=10)
        w.conf_workflow('echo_workflow', child, timeout=30)    # WorkflowProxy(workflow_duration=30)
        return w.run()
# [/echo]


# [images]
# Three tiny "images" (lists of RGB pixels) stand in for downloads.
IMAGES = {
    'http://example.com/sky.jpeg': [(20, 60, 200)] * 6,
    'http://example.com/grass.jpeg': [(30, 180, 40)] * 6,
    'http://example.com/brick.jpeg': [(190, 40, 30), (200, 50, 20)] * 3,
}


def resize(url, width=128, height=128):
    # Returns where the resized copy was written.
    return '/tmp/flowy-%s-%dx%d.jpeg' % (url.rsplit('/', 1)[-1].split('.')[0],
                                          width, height)


def predominant_color(url, every=2):
    r_total = g_total = b_total = 0
    for count, (r, g, b) in enumerate(IMAGES[url], 1):
        r_total, g_total, b_total = r_total + r, g_total + g, b_total + b
        if count % every == 0 and flowy.heartbeat():
            # True means nobody wants the result any more (the old API said
            # the opposite: heartbeat() returned False when it was time to stop).
            raise RuntimeError('abandoned')
    return r_total, g_total, b_total


def rename(source, destination):
    return '%s -> %s' % (source, destination)


class ImageCategorization:
    """Resize an image and file it under its predominant colour."""

    def __init__(self, resize, sum_colors, rename):
        self.resize = resize
        self.sum_colors = sum_colors
        self.rename = rename

    def __call__(self, url):
        tmp_path = self.resize(url, width=256, height=256)
        r, g, b = self.sum_colors(url)       # no .result(): unpacking waits
        if max(r, g, b) == r:
            return self.rename(tmp_path, '/tmp/r.jpeg')
        if max(r, g, b) == g:
            return self.rename(tmp_path, '/tmp/g.jpeg')
        return self.rename(tmp_path, '/tmp/b.jpeg')


def run_image_categorization(url):
    with LocalWorkflow(ImageCategorization, executor=ThreadPoolExecutor) as w:
        w.conf_activity('resize', resize)
        w.conf_activity('sum_colors', predominant_color, heartbeat=15)
        w.conf_activity('rename', rename, timeout=5)
        return w.run(url)
# [/images]


# [images-swf]
image_activities = SWFActivityConfig(default_task_list='image_processing',
                                     default_schedule_to_close=420,
                                     default_schedule_to_start=120,
                                     default_start_to_close=300,
                                     default_heartbeat='NONE')
image_activities(version='1', name='resize')(resize)
image_activities(version='v1', name='predominantcolor')(predominant_color)
image_activities(version='1', name='renameimage')(rename)

image_workflows = SWFWorkflowConfig(default_task_list='my_workflows',
                                    default_workflow_duration=3600,
                                    default_decision_duration=60)
image_workflows.conf_activity('resize', version='1')
image_workflows.conf_activity('sum_colors', version='v1', name='predominantcolor',
                              heartbeat=15)
image_workflows.conf_activity('rename', version='1', name='renameimage',
                              start_to_close=5)
image_workflows(version='1', name='imagecateg')(ImageCategorization)
# [/images-swf]


# [parity]
def even_checker(n):
    if n % 2:
        raise ValueError('%d is odd' % n)
    return True


class ParityTest:
    """Check that a number is even; a failure is caught, not fatal."""

    def __init__(self, even):
        self.even = even

    def __call__(self, n=77):
        # No error_handling=True switch: a failed call raises TaskError where
        # its result is used, and the body may catch it.
        try:
            return 'even: %s' % wait(self.even(n))
        except TaskError as error:
            return 'caught: %s' % error.reason


def run_parity(n):
    with LocalWorkflow(ParityTest, executor=ThreadPoolExecutor) as w:
        w.conf_activity('even', even_checker, retry=(0, 0, 0, 0))  # retry=3
        return w.run(n)
# [/parity]


# [async]
# What a third-party system would keep: tokens of the work waiting for it.
PENDING = {}
PENDING_CHANGED = threading.Condition()


def hand_over(value):
    # The old activity raised SuspendTask and was completed later by token.
    # Here the activity returns at once; the run waits for a signal instead.
    token = flowy.context().workflow_id
    with PENDING_CHANGED:
        PENDING[token] = value
        PENDING_CHANGED.notify_all()
    return token


class Approval:
    def __init__(self, hand_over):
        self.hand_over = hand_over

    def __call__(self, value):
        wait(self.hand_over(value))
        answer = wait(wait_signal('complete'))    # complete(token, result)
        if answer.get('error'):                    # fail(token, reason)
            raise RuntimeError(answer['error'])
        return answer['result']


def start_approval(workflow, value):
    """Start a run; return its handle and the token the outside system got."""
    handle = workflow.start(value)
    with PENDING_CHANGED:
        PENDING_CHANGED.wait_for(lambda: handle.id in PENDING, timeout=10)
    return handle, handle.id


def approval_workflow():
    w = LocalWorkflow(Approval, executor=ThreadPoolExecutor)
    w.conf_activity('hand_over', hand_over)
    return w
# [/async]
