"""Record a local run and draw it: every task, what it depended on, how it ended.

Each workflow run (the root, each child, each restarted run) is a cluster; each task is
a node labelled with its call key, the decision that started it and its result or
error; edges go from the results a call used to the call.  The picture is Graphviz DOT,
rendered to SVG when the Graphviz programs are installed.
"""

import logging
import os
import warnings

from ..decision import Fail, Finish, Restart

__all__ = ['Tracer']

logger = logging.getLogger('flowy')



def _clip(text, limit=24):
    """Encoded values and reasons, shortened for a node label."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + '...'


class _Task:
    __slots__ = ('key', 'dep', 'kind', 'depends_on', 'decision', 'state', 'detail')

    def __init__(self, key, dep, kind, depends_on, decision):
        self.key = key
        self.dep = dep
        self.kind = kind
        self.depends_on = depends_on
        self.decision = decision
        self.state = 'running'
        self.detail = ''


class _Workflow:
    __slots__ = ('id', 'name', 'parent', 'parent_key', 'tasks', 'state', 'detail',
                 'restarted_as')

    def __init__(self, id, name, parent, parent_key):
        self.id = id
        self.name = name
        self.parent = parent
        self.parent_key = parent_key
        self.tasks = {}
        self.state = 'running'
        self.detail = ''
        self.restarted_as = None


class Tracer:
    """Collects what happened in one ``LocalWorkflow.run(..., _trace=tracer)``.

    After the run, :meth:`to_dot` gives the DOT source and :meth:`write` saves it (and an
    SVG when Graphviz is installed).  ``workflows`` maps run ids to what was recorded.
    """

    def __init__(self):
        self.workflows = {}

    # -- what the engine reports -------------------------------------------------

    def workflow_started(self, run_id, name, parent_id, parent_key):
        self.workflows[run_id] = _Workflow(run_id, name, parent_id, parent_key)

    def scheduled(self, run_id, key, dep, kind, depends_on, decision):
        self.workflows[run_id].tasks[key] = _Task(key, dep, kind, tuple(depends_on), decision)

    def call_failed(self, run_id, key, dep, decision, reason):
        task = _Task(key, dep, 'activity', (), decision)
        self.workflows[run_id].tasks[key] = task
        task.state, task.detail = 'failed', reason

    def completed(self, run_id, key, data):
        task = self.workflows[run_id].tasks[key]
        task.state, task.detail = 'completed', data

    def failed(self, run_id, key, reason):
        task = self.workflows[run_id].tasks[key]
        task.state, task.detail = 'failed', reason

    def workflow_finished(self, run_id, outcome):
        workflow = self.workflows[run_id]
        if type(outcome) is Finish:
            workflow.state, workflow.detail = 'completed', outcome.result
        elif type(outcome) is Fail:
            workflow.state, workflow.detail = 'failed', outcome.reason
        elif type(outcome) is Restart:
            workflow.state, workflow.detail = 'restarted', outcome.input

    def restarted(self, run_id, successor_id):
        self.workflows[run_id].restarted_as = successor_id

    # -- the picture ----------------------------------------------------------------

    def to_dot(self):
        """The trace as Graphviz DOT source text."""
        return self._graph().source

    def _graph(self):
        import graphviz
        graph = graphviz.Digraph('flowy', graph_attr={'rankdir': 'LR', 'fontsize': '10'},
                                 node_attr={'fontsize': '10', 'fontname': 'Helvetica'})
        children = {}
        for workflow in self.workflows.values():
            with graph.subgraph(name='cluster_%d' % workflow.id) as cluster:
                cluster.attr(label=_workflow_label(workflow), style='rounded',
                             color=_COLORS[workflow.state])
                start = _node_id(workflow.id, 'start')
                cluster.node(start, workflow.name, shape='box',
                             style='rounded,filled', fillcolor='#eeeeee')
                for task in workflow.tasks.values():
                    cluster.node(_node_id(workflow.id, task.key), _task_label(task),
                                 **_task_style(task))
                    if task.kind == 'workflow':
                        children[(workflow.id, task.key)] = task
            for task in workflow.tasks.values():
                for dep in task.depends_on:
                    graph.edge(_node_id(workflow.id, dep), _node_id(workflow.id, task.key))
            if workflow.parent is not None:
                graph.edge(_node_id(workflow.parent, workflow.parent_key),
                           _node_id(workflow.id, 'start'), style='dashed', label='child')
            if workflow.restarted_as is not None:
                graph.edge(_node_id(workflow.id, 'start'),
                           _node_id(workflow.restarted_as, 'start'), style='dashed',
                           label='restart')
        return graph

    def write(self, path):
        """Write ``path + '.dot'``, and ``path + '.svg'`` if Graphviz can render it.

        Returns the paths written.
        """
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        graph = self._graph()
        dot_path = path + '.dot'
        with open(dot_path, 'w', encoding='utf-8') as stream:
            stream.write(graph.source)
        written = [dot_path]
        import graphviz
        try:
            svg = graph.pipe(format='svg')
        except graphviz.ExecutableNotFound:
            warnings.warn('Graphviz is not installed, so the trace was written as DOT only '
                          '(%s); install Graphviz (e.g. apt-get install graphviz) for SVG'
                          % dot_path, stacklevel=2)
        else:
            with open(path + '.svg', 'wb') as stream:
                stream.write(svg)
            written.append(path + '.svg')
        logger.info('trace written to %s', ', '.join(written))
        return written


_COLORS = {'running': '#999999', 'completed': '#2e7d32', 'failed': '#c62828',
           'restarted': '#1565c0', 'timedout': '#ef6c00'}


def _node_id(run_id, key):
    return 'w%s/%s' % (run_id, key)


def _workflow_label(workflow):
    label = '%s (run %d)' % (workflow.name, workflow.id)
    if workflow.state == 'completed':
        label += ' = %s' % _clip(workflow.detail)
    elif workflow.state != 'running':
        label += ' %s: %s' % (workflow.state, _clip(workflow.detail))
    return label


def _task_label(task):
    label = '%s\\ndecision %d' % (task.key, task.decision)
    if task.state == 'completed':
        label += '\\n= %s' % _clip(task.detail)
    elif task.state == 'failed':
        label += '\\nfailed: %s' % _clip(task.detail)
    return label


def _task_style(task):
    style = {'shape': 'box' if task.kind == 'workflow' else 'ellipse',
             'color': _COLORS[task.state]}
    if task.state == 'running':
        style['style'] = 'dotted'
    return style
