"""Running the translated examples on Amazon SWF: workers and a starter.

Shown in docs/coming_from.rst.  The tests only build the workers (``workers_for``);
``serve`` and ``start_basic`` need SWF (or a moto server, see docs/swf_local.rst).
"""

from flowy import SWFActivityWorker, SWFWorkflowStarter, SWFWorkflowWorker


# [deploy]
def workers_for(module):
    """A decider and an activity worker that know the types decorated in ``module``."""
    deciders = SWFWorkflowWorker().scan(package=module)
    activity_workers = SWFActivityWorker().scan(package=module)
    return deciders, activity_workers


def serve(domain, module, decision_list, activity_list, role):
    """start_workflow_worker / start_activity_worker, DecisionWorker / ActivityWorker."""
    deciders, activity_workers = workers_for(module)
    if role == 'decider':
        deciders.run_forever(domain, decision_list)
    else:
        activity_workers.run_forever(domain, activity_list)


def start_basic(domain, x, t):
    """workflow_starter(...)(x), manager.start_process(...), simpleflow workflow.start."""
    starter = SWFWorkflowStarter(domain, 'basic', 'example')
    return starter.start(x, t)
# [/deploy]
