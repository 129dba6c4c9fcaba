"""Record a local run and draw it: every task, what it depended on, how it ended.

Each workflow run (the root, each child, each restarted run) is a cluster; each task is
a node labelled with its call key, the decision that started it and its result or
error; edges go from the results a call used to the call.  The picture is Graphviz DOT,
rendered to SVG when the Graphviz programs are installed.

Drawing is a by-product of a run: :meth:`Tracer.write` never raises for a trace it
cannot write or draw, it warns (:class:`TraceWarning`) and goes on, so that a trace
never takes the place of the run's result or error.
"""

import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import warnings

from ..decision import Fail, Finish, Restart

__all__ = ['RENDER_TIMEOUT', 'TraceWarning', 'Tracer']

logger = logging.getLogger('flowy')

#: Seconds that :meth:`Tracer.write` lets Graphviz render an SVG before it gives up
#: (the DOT file is written in any case).  Large traces take Graphviz minutes.
RENDER_TIMEOUT = 30.0


class TraceWarning(UserWarning):
    """A trace could not be written or drawn; the run itself is not affected."""


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
        lines = ['digraph flowy {', '\tgraph [fontsize=10 rankdir=LR]',
                 '\tnode [fontname=Helvetica fontsize=10]']
        edges = []
        for workflow in self.workflows.values():
            lines.append('\tsubgraph %s {' % _quote('cluster_%s' % workflow.id))
            lines.append('\t\tgraph [color=%s label=%s style=rounded]' % (
                _quote(_COLORS[workflow.state]), _label([_workflow_label(workflow)])))
            lines.append('\t\t%s [label=%s fillcolor="#eeeeee" shape=box '
                         'style="rounded,filled"]' % (_node(workflow.id, 'start'),
                                                      _label([workflow.name])))
            for task in workflow.tasks.values():
                lines.append('\t\t%s [label=%s%s]' % (
                    _node(workflow.id, task.key), _label(_task_label(task)),
                    ''.join(' %s=%s' % (name, _quote(value))
                            for name, value in _task_style(task).items())))
                edges.extend((_node(workflow.id, dep), _node(workflow.id, task.key), '')
                             for dep in task.depends_on)
            lines.append('\t}')
            if workflow.parent is not None:
                edges.append((_node(workflow.parent, workflow.parent_key),
                              _node(workflow.id, 'start'), ' [label=child style=dashed]'))
            if workflow.restarted_as is not None:
                edges.append((_node(workflow.id, 'start'), _node(workflow.restarted_as, 'start'),
                              ' [label=restart style=dashed]'))
        lines.extend('\t%s -> %s%s' % edge for edge in edges)
        lines.append('}')
        return '\n'.join(lines) + '\n'

    def write(self, path, timeout=None):
        """Write ``path + '.dot'``, and ``path + '.svg'`` if Graphviz renders it in time.

        Returns the paths written.  Rendering is abandoned after ``timeout`` seconds
        (default :data:`RENDER_TIMEOUT`).  Nothing that goes wrong here raises: a missing
        Graphviz, a renderer that fails or is too slow, a file that cannot be written,
        each gives a :class:`TraceWarning` naming the file and the reason.
        """
        path = os.fspath(path)
        dot_path = path + '.dot'
        try:
            source = self.to_dot()
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(dot_path, 'w', encoding='utf-8') as stream:
                stream.write(source)
        except Exception as exc:
            _warn('the trace could not be written to %s: %s' % (dot_path, _describe(exc)))
            return []
        written = [dot_path]
        svg_path = path + '.svg'
        problem = _render_svg(dot_path, svg_path, RENDER_TIMEOUT if timeout is None else timeout)
        if problem is None:
            written.append(svg_path)
        else:
            _warn('the trace %s was written as DOT only: %s' % (dot_path, problem))
        logger.info('trace written to %s', ', '.join(written))
        return written


def _render_svg(dot_path, svg_path, timeout):
    """Render ``dot_path`` to ``svg_path`` with Graphviz: None, or why it did not."""
    program = shutil.which('dot')
    if program is None:
        return ('Graphviz is not installed (no "dot" program on the PATH); install it '
                '(e.g. apt-get install graphviz) for an SVG')
    # Rendered beside the target, then renamed: no half-written SVG is ever left.
    partial = svg_path + '.part'
    try:
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                [program, '-Tsvg', '-o', partial, dot_path], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=_POSIX)
            try:
                status = process.wait(timeout)
            except subprocess.TimeoutExpired:
                return ('Graphviz took longer than %s seconds and was stopped (see '
                        'flowy.local.tracer.RENDER_TIMEOUT); to draw it anyway, run: '
                        'dot -Tsvg -o %s %s' % (timeout, shlex.quote(svg_path),
                                                shlex.quote(dot_path)))
            finally:
                if process.poll() is None:
                    _stop(process)
            if status != 0:
                errors.seek(0)
                message = errors.read(2000).decode('utf-8', 'replace').strip()
                return 'Graphviz failed (exit status %d): %s' % (status, message or 'no message')
            os.replace(partial, svg_path)
    except Exception as exc:
        return 'Graphviz could not be run: %s' % _describe(exc)
    finally:
        if os.path.exists(partial):
            try:
                os.remove(partial)
            except OSError:
                pass
    return None


_POSIX = os.name == 'posix'


def _stop(process):
    """Kill the renderer and whatever it started (it runs in a session of its own)."""
    try:
        if _POSIX:
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - POSIX only on CI
            process.kill()
    except OSError:
        pass
    process.wait()


def _warn(message):
    try:
        warnings.warn(message, TraceWarning, stacklevel=3)
    except Exception:
        # Warnings turned into errors must not make a run fail either.
        logger.warning('%s', message)


def _describe(exc):
    return '%s: %s' % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


_COLORS = {'running': '#999999', 'completed': '#2e7d32', 'failed': '#c62828',
           'restarted': '#1565c0', 'timedout': '#ef6c00'}

# Characters that cannot stand for themselves inside a quoted DOT string: quotes and
# backslashes (the escapes of DOT and of its labels), line breaks and other control
# characters (which Graphviz may reject or drop), and lone surrogates (not UTF-8).
_UNSAFE = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\ud800-\udfff]')
_ESCAPES = {'\\': '\\\\', '"': '\\"', '\n': '\\n'}


def _escape(match):
    char = match.group()
    escape = _ESCAPES.get(char)
    if escape is None:
        # Shown as Python would write it, with the backslash itself escaped for DOT.
        escape = '\\' + repr(char)[1:-1]
    return escape


def _quote(text):
    """``text`` as a quoted DOT string that shows exactly ``text`` in a label."""
    return '"%s"' % _UNSAFE.sub(_escape, str(text))


def _label(lines):
    """A DOT label of these lines of text."""
    return '"%s"' % '\\n'.join(_UNSAFE.sub(_escape, str(line)) for line in lines)


def _node(run_id, key):
    return _quote('w%s/%s' % (run_id, key))


def _workflow_label(workflow):
    label = '%s (run %s)' % (workflow.name, workflow.id)
    if workflow.state == 'completed':
        label += ' = %s' % _clip(workflow.detail)
    elif workflow.state != 'running':
        label += ' %s: %s' % (workflow.state, _clip(workflow.detail))
    return label


def _task_label(task):
    lines = [task.key, 'decision %d' % task.decision]
    if task.state == 'completed':
        lines.append('= %s' % _clip(task.detail))
    elif task.state == 'failed':
        lines.append('failed: %s' % _clip(task.detail))
    return lines


def _task_style(task):
    style = {'shape': 'box' if task.kind == 'workflow' else 'ellipse',
             'color': _COLORS[task.state]}
    if task.state == 'running':
        style['style'] = 'dotted'
    return style
