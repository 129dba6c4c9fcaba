"""Tracing a local run: what the Tracer records, its DOT picture, and the files it writes."""

import html
import json
import os
import re
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from flowy import LocalWorkflow, TaskError, wait
from flowy.decision import Fail
from flowy.local import Tracer
from flowy.local import tracer as tracer_module
from flowy.local.tracer import TraceWarning

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
    # and faint lines from each run's start to the calls that used no result
    [parent_start] = by_key['Parent']
    child_square = next(node for node in by_key['square-0-0'] if node != parent_square)
    assert (parent_start, parent_square) in edges and (child_start, child_square) in edges
    assert len([edge for edge in edges if not edge[0].startswith('legend/')]) == 5


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


# -- labels: any text shows as it is ------------------------------------------------

DOT_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<id>[A-Za-z_0-9.#]+)'
                       r'|(?P<punct>->|[\[\]{}=]))', re.DOTALL)


def dot_tokens(source):
    """The tokens of a DOT source as Graphviz's scanner reads them (no comments or HTML
    strings are expected); anything else fails the test."""
    tokens, pos = [], 0
    while source[pos:].strip():
        match = DOT_TOKEN.match(source, pos)
        assert match, 'not DOT at %r' % source[pos:pos + 40]
        tokens.append(match.group(match.lastgroup))
        pos = match.end()
    return tokens


def shown_lines(token):
    """The lines of text Graphviz shows for a quoted label: ``\\\\`` and ``\\"`` stand for
    themselves and ``\\n`` breaks the line; the tracer writes no other escape."""
    assert token[0] == token[-1] == '"', token
    lines, line = [], []
    pieces = iter(re.findall(r'\\.|[^\\]', token[1:-1], re.DOTALL))
    for piece in pieces:
        if piece == '\\n':
            lines.append(''.join(line))
            line = []
        elif piece in ('\\\\', '\\"'):
            line.append(piece[1])
        else:
            assert not piece.startswith('\\'), 'unexpected escape %r in %s' % (piece, token)
            line.append(piece)
    # The tracer writes & as &amp; (Graphviz reads entities in labels).
    return [text.replace('&amp;', '&') for text in lines + [''.join(line)]]


def node_labels(source):
    """Shown label lines by owner: node id, or subgraph name for a ``graph [...]``."""
    tokens = dot_tokens(source)
    assert tokens[:3] == ['digraph', 'flowy', '{'] and tokens[-1] == '}'
    assert tokens.count('{') == tokens.count('}')
    labels, subgraphs = {}, []
    index = 3
    while index < len(tokens):
        token = tokens[index]
        if token == 'subgraph':
            subgraphs.append(shown_lines(tokens[index + 1])[0])
            assert tokens[index + 2] == '{'
            index += 3
            continue
        if token == '}':
            subgraphs.pop() if subgraphs else None
        elif token == '[':
            owner = tokens[index - 1]
            if owner == 'edge' or tokens[index - 2] == '->':
                owner = None  # edge attributes
            elif owner in ('graph', 'node'):
                owner = subgraphs[-1] if subgraphs and owner == 'graph' else owner
            else:
                owner = shown_lines(owner)[0]
            index += 1
            while tokens[index] != ']':
                name, equals, value = tokens[index:index + 3]
                assert equals == '=', tokens[index:index + 3]
                if name == 'label' and owner is not None:
                    labels[owner] = shown_lines(value) if value.startswith('"') else [value]
                index += 3
        index += 1
    return labels


def as_shown(text):
    """What a label must show for ``text``: control characters and lone surrogates as
    Python writes them, newlines as line breaks."""
    return [re.sub(r'[\x00-\x1f\x7f-\x9f\ud800-\udfff]', lambda m: repr(m.group())[1:-1], part)
            for part in text.split('\n')]


TRICKY = ['ends with \\', 'say "hi"', '\\"', 'x\\\\\\', 'two\nlines', 'bell\x07nul\x00',
          'tab\tcr\r', 'lone \ud800', '\x85 next line', '<b>html</b>', '<lambda>',
          '\\n is not a break', '\\N \\G \\L', 'é ☃ 𝄞', '', '"', '\\', 'a &amp; b & c']


def tricky_trace(text):
    """A trace whose names, results and reasons are all ``text``."""
    tracer = Tracer()
    tracer.workflow_started(1, text, None, None)
    tracer.scheduled(1, 'ok-0-0', 'ok', 'activity', (), 1)
    tracer.completed(1, 'ok-0-0', text)
    tracer.scheduled(1, 'bad-0-0', 'bad', 'activity', ('ok-0-0',), 2)
    tracer.failed(1, 'bad-0-0', text)
    tracer.call_failed(1, 'never-0-0', 'never', 3, text)
    tracer.workflow_finished(1, Fail(text))
    return tracer


@pytest.mark.parametrize('text', TRICKY, ids=repr)
def test_labels_show_any_text_as_it_is(text):
    labels = node_labels(tricky_trace(text).to_dot())
    assert labels['cluster_1'] == as_shown('%s (run 1) failed: %s' % (text, text))
    assert labels['w1/start'] == as_shown(text)
    assert labels['w1/ok-0-0'] == ['ok-0-0', 'decision 1'] + as_shown('= ' + text)
    assert labels['w1/bad-0-0'] == ['bad-0-0', 'decision 2'] + as_shown('failed: ' + text)
    assert labels['w1/never-0-0'] == ['never-0-0', 'decision 3'] + as_shown('failed: ' + text)


def test_long_texts_are_clipped_in_labels_before_they_are_escaped():
    labels = node_labels(tricky_trace('\\' * 60).to_dot())
    assert labels['w1/ok-0-0'][-1] == '= ' + '\\' * 37 + '...'


@pytest.mark.skipif(not HAVE_DOT, reason='the Graphviz "dot" program is not installed')
def test_graphviz_draws_tricky_labels(tmp_path):
    tracer = tricky_trace('')
    tracer.group_over = len(TRICKY)  # every call a node of its own
    for index, text in enumerate(TRICKY):
        tracer.scheduled(1, 'tricky-%d-0' % index, 'tricky', 'activity', (), index)
        tracer.failed(1, 'tricky-%d-0' % index, text)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        written = tracer.write(str(tmp_path / 'tricky'))
    assert written == [str(tmp_path / 'tricky.dot'), str(tmp_path / 'tricky.svg')]
    svg = (tmp_path / 'tricky.svg').read_text(encoding='utf-8')
    shown = {html.unescape(text).strip()
             for text in re.findall(r'<text[^>]*>([^<]*)</text>', svg)}
    tooltips = [html.unescape(text) for text in re.findall(r'xlink:title="([^"]*)"', svg)]
    for text in TRICKY:
        for line in as_shown('failed: ' + text):
            assert line.strip() in shown, (text, line)
        # Tooltips (read by Graphviz as escStrings, where \\N is the node's name) show
        # the whole error as it is too.
        error = 'error: ' + '\n'.join(as_shown(text))
        assert any('\n%s\n' % error in tooltip for tooltip in tooltips), (text, error)


# -- writing never fails the run ---------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != 'posix', reason='the fake renderers are sh scripts')


def fake_dot(directory, script):
    """Put a ``dot`` program running the sh ``script`` first on the PATH.  It is called
    as ``dot -Tsvg -o OUTPUT INPUT``."""
    directory.mkdir(exist_ok=True)
    program = directory / 'dot'
    program.write_text('#!/bin/sh\n' + script + '\n')
    program.chmod(0o755)
    return program


@pytest.fixture
def renderer(tmp_path, monkeypatch):
    """Make ``dot`` run a given sh script instead of Graphviz."""
    def install(script):
        fake_dot(tmp_path / 'bin', script)
        monkeypatch.setenv('PATH', str(tmp_path / 'bin') + os.pathsep + os.environ['PATH'])
    return install


def trace_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, TraceWarning)]


@posix_only
def test_a_failing_renderer_only_warns(tmp_path, renderer):
    renderer('echo "Error: syntax error in line 1 near x" >&2; exit 3')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        written = tricky_trace('x').write(str(tmp_path / 'out' / 'run'))
    dot = str(tmp_path / 'out' / 'run.dot')
    assert written == [dot]
    [message] = trace_warnings(caught)
    assert message.startswith('the trace %s was written as DOT only: ' % dot)
    assert 'exit status 3' in message and 'syntax error in line 1' in message
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['run.dot']


@posix_only
def test_a_renderer_that_does_not_finish_is_stopped_after_the_timeout(tmp_path, renderer):
    pid_file = tmp_path / 'renderer.pid'
    # The stand-in for a huge graph: a renderer that would go on for ten minutes.
    renderer('echo $$ > "%s"; exec sleep 600' % pid_file)
    tracer = tricky_trace('x')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        written = tracer.write(str(tmp_path / 'run'), timeout=0.5)
    assert written == [str(tmp_path / 'run.dot')]
    assert (tmp_path / 'run.dot').read_text(encoding='utf-8') == tracer.to_dot()
    [message] = trace_warnings(caught)
    assert 'took longer than 0.5 seconds and was stopped' in message
    assert str(tmp_path / 'run.dot') in message
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert not (tmp_path / 'run.svg').exists() and not (tmp_path / 'run.svg.part').exists()


@posix_only
def test_the_render_timeout_is_a_module_setting(tmp_path, renderer, monkeypatch):
    renderer('exec sleep 600')
    monkeypatch.setattr(tracer_module, 'RENDER_TIMEOUT', 0.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        tricky_trace('x').write(str(tmp_path / 'run'))
    [message] = trace_warnings(caught)
    assert 'took longer than 0.2 seconds' in message


@posix_only
def test_a_renderer_that_succeeds_gives_the_svg(tmp_path, renderer):
    renderer('[ "$1 $2" = "-Tsvg -o" ] && printf "<svg>%s</svg>" "$4" > "$3"')
    written = tricky_trace('x').write(str(tmp_path / 'run'))
    assert written == [str(tmp_path / 'run.dot'), str(tmp_path / 'run.svg')]
    assert (tmp_path / 'run.svg').read_text() == '<svg>%s</svg>' % (tmp_path / 'run.dot')


def test_without_graphviz_the_dot_file_is_written_with_a_warning(tmp_path, monkeypatch):
    (tmp_path / 'empty').mkdir()
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        written = tricky_trace('x').write(str(tmp_path / 'run'))
    assert written == [str(tmp_path / 'run.dot')]
    [message] = trace_warnings(caught)
    assert 'Graphviz is not installed' in message and str(tmp_path / 'run.dot') in message


def test_a_trace_that_cannot_be_written_only_warns(tmp_path):
    (tmp_path / 'a file').write_text('')
    path = tmp_path / 'a file' / 'run'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert tricky_trace('x').write(str(path)) == []
    [message] = trace_warnings(caught)
    assert message.startswith('the trace could not be written to %s.dot: ' % path)


@posix_only
def test_warnings_turned_into_errors_are_logged_instead(tmp_path, renderer, caplog):
    renderer('exit 1')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        written = tricky_trace('x').write(str(tmp_path / 'run'))
    assert written == [str(tmp_path / 'run.dot')]
    assert any('written as DOT only' in r.getMessage() and r.levelname == 'WARNING'
               for r in caplog.records)


@posix_only
@pytest.mark.parametrize('script', ['exit 1', 'exec sleep 600'], ids=['failing', 'slow'])
def test_a_run_with_a_broken_renderer_keeps_its_result(tmp_path, renderer, monkeypatch,
                                                        script):
    renderer(script)
    monkeypatch.setattr(tracer_module, 'RENDER_TIMEOUT', 0.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert make_workflow().run(3, _trace=str(tmp_path / 'ok')) == [9, 82]
        failing = LocalWorkflow(Child, executor=ThreadPoolExecutor)
        failing.conf_activity('square', boom)
        with pytest.raises(TaskError, match='boom 2'):
            failing.run(2, _trace=str(tmp_path / 'failed'))
    assert len(trace_warnings(caught)) == 2
    assert 'boom-0-0' in (tmp_path / 'ok.dot').read_text()
    assert 'boom 2' in (tmp_path / 'failed.dot').read_text()


def unencodable(x):
    raise ValueError('lone surrogate \ud800 in the reason')


def test_a_reason_that_utf8_cannot_encode_is_written(tmp_path):
    workflow = LocalWorkflow(Child, executor=ThreadPoolExecutor)
    workflow.conf_activity('square', unencodable)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(TaskError, match='lone surrogate'):
            workflow.run(2, _trace=str(tmp_path / 'run'))
    assert 'failed: lone surrogate \\\\ud8' in (tmp_path / 'run.dot').read_text(encoding='utf-8')


# -- traces people can read: values, tooltips, groups, marks, a legend ---------------

from flowy import parallel_reduce  # noqa: E402
from flowy.decision import Cancelled, Finish  # noqa: E402
from flowy.local.cli import main as local_main  # noqa: E402
from flowy.local.tracer import runs_from_store  # noqa: E402
from flowy.serialization import dumps  # noqa: E402
from flowy.trace_render import to_dot  # noqa: E402


def encoded_input(*args, **kwargs):
    return dumps([list(args), kwargs])


def attributes(source):
    """``{node id: {attribute: shown text}}`` of the nodes of a DOT source (tooltips
    with their escapes undone as Graphviz undoes them)."""
    nodes = {}
    for line in source.splitlines():
        match = re.match(r'^\s*("(?:[^"\\]|\\.)*") \[(.*)\]$', line)
        if not match:
            continue
        attrs = {}
        for name, value in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ \]]+)', match.group(2)):
            if value.startswith('"'):
                value = value[1:-1]
                if name == 'tooltip':
                    value = value.replace('\\\\\\\\', '\x00').replace('\\n', '\n')
                else:
                    value = value.replace('\\\\', '\x00').replace('\\n', '\n')
                value = value.replace('\\"', '"').replace('\x00', '\\').replace('&amp;', '&')
            attrs[name] = value
        nodes[unquote(match.group(1))] = attrs
    return nodes


def fan_out(tracer, run_id=1, dep='square', number=25, failing=(3, 11, 17), decision=1,
            depends_on=()):
    for index in range(number):
        key = '%s-%d-0' % (dep, index)
        tracer.scheduled(run_id, key, dep, 'activity', depends_on, decision,
                         encoded_input(index))
        if index in failing:
            tracer.failed(run_id, key, 'ValueError: %s %d is not a square number I like, '
                          'not at all, not today' % (dep, index))
        else:
            tracer.completed(run_id, key, dumps((index * index, None)))


def test_values_are_shown_as_python_reprs_with_inputs_errors_and_timings_in_tooltips():
    ticks = iter(range(100))
    tracer = Tracer(clock=lambda: float(next(ticks)))
    tracer.workflow_started(1, 'Main', None, None, input=encoded_input(5, mode={'a': (1, 2)}))
    tracer.scheduled(1, 'square-0-0', 'square', 'activity', (), 1, encoded_input(2.5))
    tracer.completed(1, 'square-0-0', dumps((5.0, None, 2.5)))
    long_error = 'ValueError: ' + 'this error is much longer than twenty-four characters ' * 3
    tracer.scheduled(1, 'parse-0-0', 'parse', 'activity', ('square-0-0',), 2,
                     encoded_input(b'x', {1, 2}))
    tracer.failed(1, 'parse-0-0', long_error)
    tracer.workflow_finished(1, Finish(dumps([5.0, 'done'])))
    source = tracer.to_dot()
    assert '!t' not in source  # no tagged JSON anywhere
    nodes = attributes(source)
    square = nodes['w1/square-0-0']
    assert square['label'].split('\n') == ['square-0-0', 'decision 1', '= (5.0, None, 2.5)']
    assert square['tooltip'].split('\n') == [
        'square-0-0: activity square', 'started by decision 1', 'call: square(2.5)',
        'result: (5.0, None, 2.5)', 'scheduled at +1.000 s, ended at +2.000 s',
        'took 1.000 s']
    parse = nodes['w1/parse-0-0']
    assert parse['label'].startswith('parse-0-0\ndecision 2\nfailed: ValueError: this')
    assert parse['label'].endswith('...')
    assert 'error: %s\n' % long_error in parse['tooltip']  # the whole error
    assert "call: parse(b'x', {1, 2})" in parse['tooltip']
    start = nodes['w1/start']
    assert start['label'] == "Main\n(5, mode={'a': (1, 2)})"
    assert "input: Main(5, mode={'a': (1, 2)})" in start['tooltip']
    assert "Main (run 1) = [5.0, 'done']" in source


def test_values_that_cannot_be_decoded_are_shown_as_their_text():
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None, input='not json at all')
    tracer.scheduled(1, 'a-0-0', 'a', 'activity', (), 1, '{broken')
    tracer.completed(1, 'a-0-0', '<pickled bytes>')
    nodes = attributes(tracer.to_dot())
    assert nodes['w1/a-0-0']['label'].endswith('= <pickled bytes>')
    assert 'call: a{broken' in nodes['w1/a-0-0']['tooltip']
    custom = Tracer(decode=lambda text: text.upper())
    custom.workflow_started(1, 'Main', None, None)
    custom.scheduled(1, 'a-0-0', 'a', 'activity', (), 1)
    custom.completed(1, 'a-0-0', 'own transport')
    assert attributes(custom.to_dot())['w1/a-0-0']['label'].endswith("= 'OWN TRANSPORT'")


def test_a_fan_out_is_one_node_with_its_failures_drawn_on_their_own():
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None)
    fan_out(tracer)
    tracer.scheduled(1, 'total-0-0', 'total', 'activity',
                     tuple('square-%d-0' % i for i in range(25) if i not in (3, 11, 17)), 2)
    tracer.completed(1, 'total-0-0', '1')
    tracer.workflow_finished(1, Finish('1'))
    source = tracer.to_dot()
    nodes, edges = dot_nodes_and_edges(source)
    [group] = [node for node in nodes if node.startswith('group/')]
    attrs = attributes(source)[group]
    assert attrs['label'] == 'square x 25, 3 failed\ndecision 1'
    assert attrs['peripheries'] == '2'
    tooltip = attrs['tooltip']
    assert '22 completed, 3 failed' in tooltip
    assert 'calls: square(0), square(1), square(2), square(3), ...' in tooltip
    assert 'results: (0, None), (1, None), (4, None), (16, None), ...' in tooltip
    assert 'error (x 1): ValueError: square 3 is not a square number' in tooltip
    for index in (3, 11, 17):  # the failures stay visible
        node = 'w1/square-%d-0' % index
        assert node in nodes and (group, node) in edges
        assert 'not at all, not today' in attributes(source)[node]['tooltip']
    assert not any(node.startswith('w1/square-') for node in nodes
                   if node.rpartition('/')[2] not in ('square-3-0', 'square-11-0',
                                                     'square-17-0'))
    assert (group, 'w1/total-0-0') in edges
    assert re.search(r'"%s" -> "w1/total-0-0" \[label="x 22"\]' % re.escape(group), source)


def test_the_grouping_threshold_and_the_failures_shown_are_settings():
    def trace(**settings):
        tracer = Tracer(**settings)
        tracer.workflow_started(1, 'Main', None, None)
        fan_out(tracer, number=40, failing=range(0, 40, 2))
        return dot_nodes_and_edges(tracer.to_dot())[0]

    nodes = trace()
    assert sum(node.startswith('group/') for node in nodes) == 1
    assert sum(node.startswith('w1/square-') for node in nodes) == 10  # SHOW_OVER
    nodes = trace(show_over=3)
    assert sum(node.startswith('w1/square-') for node in nodes) == 3
    nodes = trace(group_over=40)  # 40 calls are not more than 40: each drawn
    assert not any(node.startswith('group/') for node in nodes)
    assert sum(node.startswith('w1/square-') for node in nodes) == 40


def test_calls_of_one_task_are_grouped_by_the_tasks_whose_results_they_used():
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None)
    fan_out(tracer, failing=())
    for index in range(12):  # each uses one square: one group
        tracer.scheduled(1, 'child-%d-0' % index, 'child', 'workflow',
                         ('square-%d-0' % index,), 2 + index)
        tracer.completed(1, 'child-%d-0' % index, '1')
    tracer.scheduled(1, 'child-12-0', 'child', 'workflow', (), 30)  # on its own
    labels = [label for node, label in dot_nodes_and_edges(tracer.to_dot())[0].items()
              if not node.startswith('legend/')]
    assert 'child x 12\\ndecisions 2-13' in labels
    assert any(label.startswith('child-12-0') for label in labels)


def test_interrupted_cancelled_and_timed_out_calls_are_marked():
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None)
    for dep in ('slow', 'gone', 'late', 'bad', 'ok'):
        tracer.scheduled(1, '%s-0-0' % dep, dep, 'activity', (), 1)
    tracer.failed(1, 'gone-0-0', 'gone-0 was cancelled')
    tracer.failed(1, 'late-0-0', 'late-0-0 timed out: no result in 2 s')
    tracer.failed(1, 'bad-0-0', 'TimeoutError: timed out')  # an error, not a timeout
    tracer.completed(1, 'ok-0-0', '1')
    tracer.call_failed(1, 'never-0-0', 'never', 1, 'never-0 was cancelled')
    running = attributes(tracer.to_dot())
    assert running['w1/slow-0-0']['style'] == 'dotted,filled'  # the run goes on
    assert running['w1/slow-0-0']['label'].endswith('running')
    tracer.workflow_finished(1, Cancelled('the run was cancelled'))
    source = tracer.to_dot()
    nodes = attributes(source)
    states = {key: tracer.workflows[1].tasks[key].state for key in tracer.workflows[1].tasks}
    assert states == {'slow-0-0': 'running', 'gone-0-0': 'cancelled', 'late-0-0': 'timedout',
                      'bad-0-0': 'failed', 'ok-0-0': 'completed', 'never-0-0': 'cancelled'}
    assert nodes['w1/slow-0-0']['label'].endswith('interrupted')
    assert 'dashed' in nodes['w1/slow-0-0']['style']
    assert 'still running when its run ended' in nodes['w1/slow-0-0']['tooltip']
    assert nodes['w1/gone-0-0']['label'].endswith('cancelled')
    assert nodes['w1/never-0-0']['label'].endswith('cancelled')
    assert nodes['w1/late-0-0']['label'].endswith('timed out')
    assert 'reason: late-0-0 timed out: no result in 2 s' in nodes['w1/late-0-0']['tooltip']
    assert nodes['w1/bad-0-0']['label'].endswith('failed: TimeoutError: timed out')
    colors = {key: nodes['w1/%s' % key]['color'] for key in states}
    assert len({colors['slow-0-0'], colors['gone-0-0'], colors['late-0-0'],
                colors['bad-0-0'], colors['ok-0-0']}) == 5
    assert 'Main (run 1) cancelled: the run was cancelled' in source
    # The engine may also say how a call ended.
    tracer.failed(1, 'bad-0-0', 'TimeoutError: timed out', state='timedout')
    assert tracer.workflows[1].tasks['bad-0-0'].state == 'timedout'


def test_timers_markers_and_signals_are_drawn_distinctly_with_a_legend():
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None)
    tracer.scheduled(1, 'work-0-0', 'work', 'activity', (), 1)
    tracer.completed(1, 'work-0-0', '1')
    tracer.scheduled(1, '@sleep-0', '@sleep', 'timer', (), 1)
    tracer.completed(1, '@sleep-0', 'null')
    tracer.scheduled(1, '@marker-0', '@marker', 'marker', (), 1)
    tracer.completed(1, '@marker-0', dumps({'step': (1, 2)}))
    tracer.scheduled(1, '@now-0', '@now', 'marker', (), 2)
    tracer.completed(1, '@now-0', '1700000000.5')
    tracer.scheduled(1, '@signal-approve-0', '@signal-approve', 'signal', (), 2)
    tracer.completed(1, '@signal-approve-0', dumps({'by': 'ann'}))
    tracer.scheduled(1, '@sleep-1', '@sleep', 'timer', (), 3)
    tracer.workflow_finished(1, Finish('1'))
    source = tracer.to_dot()
    nodes = attributes(source)
    shapes = {key: nodes['w1/' + key]['shape'] for key in (
        'work-0-0', '@sleep-0', '@marker-0', '@signal-approve-0')}
    assert len(set(shapes.values())) == 4
    assert nodes['w1/@now-0']['shape'] == shapes['@marker-0']
    assert nodes['w1/@sleep-0']['label'].endswith('fired')
    assert nodes['w1/@sleep-1']['label'].endswith('interrupted')
    assert nodes['w1/@marker-0']['label'].endswith("= {'step': (1, 2)}")
    assert nodes['w1/@signal-approve-0']['label'].endswith("= {'by': 'ann'}")
    legend = {attrs['label']: attrs for node, attrs in nodes.items()
              if node.startswith('legend/')}
    assert {'activity', 'timer', 'recorded value', 'signal received', 'completed',
            'interrupted'} <= set(legend)
    assert legend['timer']['shape'] == shapes['@sleep-0']
    assert legend['signal received']['shape'] == shapes['@signal-approve-0']
    assert 'child workflow' not in legend and 'failed' not in legend  # only what is drawn
    tracer.legend = False
    assert 'legend' not in tracer.to_dot()


def test_children_of_grouped_calls_and_runs_beyond_the_limit_are_counted():
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None)
    for index in range(15):
        tracer.scheduled(1, 'child-%d-0' % index, 'child', 'workflow', (), 1)
        tracer.workflow_started(100 + index, 'Child', 1, 'child-%d-0' % index)
        tracer.scheduled(100 + index, 'square-0-0', 'square', 'activity', (), 1)
        if index == 4:
            tracer.failed(100 + index, 'square-0-0', 'boom')
            tracer.workflow_finished(100 + index, Fail('boom'))
            tracer.failed(1, 'child-4-0', 'boom')
        else:
            tracer.completed(100 + index, 'square-0-0', '1')
            tracer.workflow_finished(100 + index, Finish('1'))
            tracer.completed(1, 'child-%d-0' % index, '1')
    source = tracer.to_dot()
    assert source.count('subgraph "cluster_') == 3  # Main, the failed child, the legend
    assert 'cluster_104' in source
    nodes = attributes(source)
    assert nodes['more runs']['label'] == '14 more runs not drawn'
    assert 'child x 15, 1 failed' in source
    few = tracer_module.trace_render.to_dot(tracer.workflows, group_over=100, max_runs=5)
    assert few.count('subgraph "cluster_') == 6
    assert '11 more runs not drawn' in few


class Sum:
    def __init__(self, square, add):
        self.square, self.add = square, add

    def __call__(self, n):
        return parallel_reduce(self.add, [self.square(i) for i in range(n)])


def add(a, b):
    return a + b


def svg_size(path):
    head = path.read_text(encoding='utf-8')[:2000]
    width, height = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', head).groups()
    return float(width) * 4 / 3, float(height) * 4 / 3  # CSS pixels


def test_a_20000_task_run_draws_a_small_picture(tmp_path):
    workflow = LocalWorkflow(Sum, executor=ThreadPoolExecutor)
    workflow.conf_activity('square', square)
    workflow.conf_activity('add', add)
    tracer = Tracer()
    assert workflow.run(10000, _trace=tracer) == sum(i * i for i in range(10000))
    assert sum(len(run.tasks) for run in tracer.workflows.values()) == 19999
    source = tracer.to_dot()
    assert len(source) < 20000
    nodes, edges = dot_nodes_and_edges(source)
    assert len(nodes) < 30 and len(edges) < 30
    assert any(label.startswith('square x 10,000') for label in nodes.values())
    if HAVE_DOT:
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            tracer.write(str(tmp_path / 'big'))
        width, height = svg_size(tmp_path / 'big.svg')
        assert height < 2000 and width < 4000


@pytest.mark.skipif(not HAVE_DOT, reason='the Graphviz "dot" program is not installed')
def test_graphviz_draws_tooltips_groups_and_the_legend(tmp_path):
    tracer = Tracer()
    tracer.workflow_started(1, 'Main', None, None, input=encoded_input(40))
    fan_out(tracer, number=40)
    tracer.workflow_finished(1, Finish('1'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        tracer.write(str(tmp_path / 'fan'))
    svg = (tmp_path / 'fan.svg').read_text(encoding='utf-8')
    texts = {html.unescape(text) for text in re.findall(r'<text[^>]*>([^<]*)</text>', svg)}
    tooltips = [html.unescape(text) for text in re.findall(r'xlink:title="([^"]*)"', svg)]
    assert {'square x 40, 3 failed', 'legend', 'many calls (dep x N)', 'failed',
            'Main', '(40)', 'square-11-0'} <= texts
    assert any(tip.startswith('square-11-0: activity square\n') and
               'error: ValueError: square 11 is not a square number I like, not at all, '
               'not today' in tip for tip in tooltips)
    assert any('input: Main(40)' in tip for tip in tooltips)
    width, height = svg_size(tmp_path / 'fan.svg')
    assert height < 1000  # 40 calls are no longer a column 3,407 pixels tall


# -- stored histories: the same picture ---------------------------------------------


class Stored:
    def __init__(self, square, child):
        self.square, self.child = square, child

    def __call__(self, n):
        results = [self.square(i) for i in range(n)]
        total = 0
        for result in results:
            try:
                total += wait(result)
            except TaskError:
                pass
        return (total, self.child(2))


def square_but_not_7(x):
    if x == 7:
        raise ValueError('seven is not welcome here, said the long error message')
    return x * x


@pytest.fixture(scope='module')
def stored(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('stored') / 'runs.db')
    child = LocalWorkflow(Child, executor=ThreadPoolExecutor)
    child.conf_activity('square', square)
    workflow = LocalWorkflow(Stored, executor=ThreadPoolExecutor, store=path)
    workflow.conf_activity('square', square_but_not_7)
    workflow.conf_workflow('child', child)
    assert workflow.run(30, _id='fam') == (sum(i * i for i in range(30)) - 49, 5)
    return path


def test_a_stored_run_is_drawn_like_a_traced_one(stored):
    from flowy.local.store import SQLiteStore

    store = SQLiteStore(stored)
    try:
        runs = runs_from_store(store, 'fam')
    finally:
        store.close()
    assert set(runs) == {'fam', 'fam/child-0-0'}
    assert runs['fam'].tasks['child-0-0'].kind == 'workflow'
    assert runs['fam'].tasks['square-7-0'].state == 'failed'
    source = to_dot(runs)
    nodes = attributes(source)
    assert '!t' not in source
    [group] = [node for node in nodes if node.startswith('group/')]
    assert nodes[group]['label'] == 'square x 30, 1 failed'
    assert 'seven is not welcome here, said the long error message' in (
        nodes['wfam/square-7-0']['tooltip'])
    assert 'call: square(7)' in nodes['wfam/square-7-0']['tooltip']
    assert 'took ' in nodes['wfam/square-7-0']['tooltip']
    assert nodes['wfam/start']['label'] == 'Stored\n(30)'
    assert nodes['wfam/child-0-0']['label'] == 'child-0-0\n= 5'
    assert 'Stored (run fam) = (8506, 5)' in source
    _, edges = dot_nodes_and_edges(source)
    assert ('wfam/child-0-0', 'wfam/child-0-0/start') in edges


def test_flowy_local_show_trace_writes_the_picture(stored, tmp_path, capsys):
    path = tmp_path / 'pictures' / 'fam'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        status = local_main(['show', 'fam', '--store', stored, '--trace', str(path)])
    out, err = capsys.readouterr()
    assert status == 0 and out.startswith('run:')
    assert 'trace written to %s.dot' % path in err
    text = (tmp_path / 'pictures' / 'fam.dot').read_text(encoding='utf-8')
    assert 'square x 30, 1 failed' in text and 'cluster_fam/child-0-0' in text
    assert (tmp_path / 'pictures' / 'fam.svg').exists() == HAVE_DOT
    status = local_main(['show', 'fam', '--store', stored, '--json', '--trace', str(path)])
    out, err = capsys.readouterr()
    assert status == 0 and json.loads(out)['id'] == 'fam'
