"""Tracing a local run: what the Tracer records, its DOT picture, and the files it writes."""

import re
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from flowy import LocalWorkflow, TaskError, wait
from flowy.local import Tracer

HAVE_DOT = shutil.which('dot') is not None


def square(x):
    return x * x


def boom(x):
    raise ValueError('boom %s' % x)


class Child:
    def __init__(self, square):
        self.square = square

    def __call__(self, x):
        return self.square(x) + 1


class Parent:
    def __init__(self, square, child, boom):
        self.square, self.child, self.boom = square, child, boom

    def __call__(self, n):
        a = self.square(n)
        b = self.child(a)
        c = self.boom(b)
        try:
            wait(c)
        except TaskError:
            pass
        return [a, b]


def make_workflow():
    child = LocalWorkflow(Child, executor=ThreadPoolExecutor)
    child.conf_activity('square', square)
    parent = LocalWorkflow(Parent, executor=ThreadPoolExecutor)
    parent.conf_activity('square', square)
    parent.conf_workflow('child', child)
    parent.conf_activity('boom', boom)
    return parent


@pytest.fixture(scope='module')
def traced():
    tracer = Tracer()
    assert make_workflow().run(3, _trace=tracer) == [9, 82]
    return tracer


def runs_by_name(tracer):
    return {workflow.name: workflow for workflow in tracer.workflows.values()}


def test_tracer_records_the_root_and_the_child(traced):
    runs = runs_by_name(traced)
    assert set(runs) == {'Parent', 'Child'}
    parent, child = runs['Parent'], runs['Child']
    assert parent.parent is None and parent.state == 'completed'
    assert child.parent == parent.id and child.parent_key == 'child-0-0'
    assert child.state == 'completed'


def test_tracer_records_every_task_with_dependencies_outcome_and_decision(traced):
    runs = runs_by_name(traced)
    tasks = runs['Parent'].tasks
    assert set(tasks) == {'square-0-0', 'child-0-0', 'boom-0-0'}
    square_call, child_call, boom_call = (tasks['square-0-0'], tasks['child-0-0'],
                                          tasks['boom-0-0'])
    assert (square_call.kind, child_call.kind, boom_call.kind) == (
        'activity', 'workflow', 'activity')
    assert square_call.depends_on == ()
    assert child_call.depends_on == ('square-0-0',)
    assert boom_call.depends_on == ('child-0-0',)
    assert (square_call.state, child_call.state, boom_call.state) == (
        'completed', 'completed', 'failed')
    assert 'boom 82' in boom_call.detail
    # A chain: each call starts in the decision after its input arrived.
    assert square_call.decision < child_call.decision < boom_call.decision
    child_tasks = runs['Child'].tasks
    assert set(child_tasks) == {'square-0-0'}
    assert child_tasks['square-0-0'].state == 'completed'


def unquote(token):
    """A DOT id as Graphviz reads it: quoted ids are unquoted, and in an unquoted edge
    endpoint ``a:b`` the ``:b`` is a port of node ``a``, not part of its name."""
    token = token.strip()
    if token.startswith('"'):
        return token[1:-1].replace('\\"', '"')
    return re.split(r':', token, maxsplit=1)[0].strip('"')


def dot_nodes_and_edges(source):
    """Node ids (with their labels) and edges (tail id, head id) of a DOT source."""
    nodes, edges = {}, []
    for line in source.splitlines():
        line = line.strip()
        edge = re.match(r'^(.+?) -> (.+?)(?: \[.*\])?$', line)
        if edge:
            edges.append((unquote(edge.group(1)), unquote(edge.group(2))))
            continue
        node = re.match(r'^("(?:[^"\\]|\\.)*"|[\w.]+) \[(.*)\]$', line)
        if node and node.group(1) not in ('graph', 'node', 'edge'):
            label = re.search(r'label=("(?:[^"\\]|\\.)*"|\S+)', node.group(2))
            nodes[unquote(node.group(1))] = unquote(label.group(1)) if label else ''
    return nodes, edges


def test_to_dot_contains_nodes_edges_and_labels(traced):
    source = traced.to_dot()
    assert source.lstrip().startswith('digraph')
    runs = runs_by_name(traced)
    parent, child = runs['Parent'].id, runs['Child'].id
    assert 'cluster_%s' % parent in source and 'cluster_%s' % child in source
    assert 'Parent' in source and 'Child' in source
    nodes, edges = dot_nodes_and_edges(source)
    labels = list(nodes.values())
    for key in ('square-0-0', 'child-0-0', 'boom-0-0'):
        assert any(label.startswith(key) for label in labels), (key, labels)
    # square-0-0 appears twice: once in the parent, once in the child
    assert sum(label.startswith('square-0-0') for label in labels) == 2
    boom_label = next(label for label in labels if label.startswith('boom-0-0'))
    assert 'failed' in boom_label and 'boom 82' in boom_label
    assert 'decision ' in boom_label
    assert any(label.startswith('square-0-0') and '9' in label for label in labels)
    by_key = {}
    for node, label in nodes.items():
        by_key.setdefault(label.split('\\n')[0], []).append(node)
    [child_call], [boom_call] = by_key['child-0-0'], by_key['boom-0-0']
    [child_start] = by_key['Child']
    parent_square = next(node for node in by_key['square-0-0']
                         if nodes[node].endswith('= 9'))
    assert (parent_square, child_call) in edges  # the child got square's result
    assert (child_call, boom_call) in edges  # boom got the child's result
    assert (child_call, child_start) in edges  # the call started the child run
    assert len(edges) == 3


def test_to_dot_edges_connect_declared_nodes(traced):
    """Every edge endpoint is a declared node (an endpoint such as ``w1:"square-0-0"``
    would be read by Graphviz as node ``w1``, port ``square-0-0``)."""
    nodes, edges = dot_nodes_and_edges(traced.to_dot())
    assert len(edges) >= 3
    for tail, head in edges:
        assert tail in nodes and head in nodes, (tail, head, sorted(nodes))


def test_trace_path_writes_dot(tmp_path):
    path = tmp_path / 'traces' / 'run'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert make_workflow().run(3, _trace=str(path)) == [9, 82]
    dot = tmp_path / 'traces' / 'run.dot'
    assert dot.exists()
    text = dot.read_text()
    assert text.lstrip().startswith('digraph') and 'boom-0-0' in text
    svg = tmp_path / 'traces' / 'run.svg'
    if HAVE_DOT:
        assert svg.exists()
        head = svg.read_text(errors='replace').lstrip()[:100]
        assert head.startswith(('<?xml', '<svg'))
    else:
        assert not svg.exists()
        assert any('Graphviz' in str(w.message) for w in caught)


@pytest.mark.skipif(not HAVE_DOT, reason='the Graphviz "dot" program is not installed, so '
                    'no SVG can be rendered')
def test_trace_path_renders_svg_with_graphviz(tmp_path):
    path = tmp_path / 'run'
    assert make_workflow().run(3, _trace=str(path)) == [9, 82]
    head = (tmp_path / 'run.svg').read_text(errors='replace').lstrip()[:100]
    assert head.startswith(('<?xml', '<svg'))


def test_trace_is_written_even_when_the_run_fails(tmp_path):
    workflow = LocalWorkflow(Child, executor=ThreadPoolExecutor)
    workflow.conf_activity('square', boom)
    path = tmp_path / 'failed'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(TaskError, match='boom 2'):
            workflow.run(2, _trace=str(path))
    text = (tmp_path / 'failed.dot').read_text()
    assert 'square-0-0' in text and 'failed' in text


def test_untraced_run_records_nothing():
    tracer = Tracer()
    make_workflow().run(3)
    assert tracer.workflows == {}
