"""Run every example translated in docs/coming_from.rst and check its result.

The examples live in the modules beside this file; the page shows them with
``literalinclude``.  Everything runs on the local engine, on threads, with short
sleeps; one example also runs on the default process pool.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from flowy import TaskError
from migration import deploy, flowy_v02, flowy_v04, pyworkflow_examples, simpleflow_examples

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.path.join(HERE, '..', '..', 'docs', 'coming_from.rst')
MODULES = (flowy_v04, flowy_v02, simpleflow_examples, pyworkflow_examples, deploy)
UNIT = 0.02


# -- the page and the modules agree -------------------------------------------------------

def sections(module):
    with open(module.__file__) as source:
        return re.findall(r'^# \[([\w-]+)\]$', source.read(), re.MULTILINE)


def test_every_section_is_on_the_page_once():
    with open(PAGE) as page:
        text = page.read()
    for module in MODULES:
        name = os.path.basename(module.__file__)
        for section in sections(module):
            pattern = (r'literalinclude:: \.\./tests/migration/%s\n'
                       r'(?:\s+:[\w-]+:.*\n)*?\s+:start-after: # \[%s\]\n'
                       % (re.escape(name), re.escape(section)))
            assert len(re.findall(pattern, text)) == 1, (name, section)


def test_every_section_is_closed():
    for module in MODULES:
        with open(module.__file__) as source:
            text = source.read()
        for section in sections(module):
            assert text.count('# [/%s]' % section) == 1, (module.__name__, section)


# -- SWF configurations -----------------------------------------------------------------------

@pytest.mark.parametrize('module, workflows, activities', [
    (flowy_v04, [('SumSquares', '1')], [('square', '1'), ('sum', '1')]),
    (flowy_v02, [('imagecateg', '1')],
     [('predominantcolor', 'v1'), ('renameimage', '1'), ('resize', '1')]),
    (simpleflow_examples, [('basic', 'example')],
     [('delay', 'example'), ('double', 'example'), ('increment', 'example')]),
    (pyworkflow_examples, [('FooWorkflow', '1')], [('MultiplicationActivity', '1')]),
])
def test_swf_types(module, workflows, activities):
    deciders, activity_workers = deploy.workers_for(module)
    assert sorted(deciders.registry) == workflows
    assert sorted(activity_workers.registry) == activities


# -- the original flowy, 0.4 ----------------------------------------------------------------

def test_two_squares():
    assert flowy_v04.run_two_squares(2, 10, seconds=UNIT) == 104
    plain = flowy_v04.TwoSquares(flowy_v04.square_activity, flowy_v04.sum_activity)
    assert plain(2, 10, 0) == 104


def test_sum_squares_on_threads_and_as_plain_python():
    assert flowy_v04.run_sum_squares(5, executor=ThreadPoolExecutor) == 30
    assert flowy_v04.sum_squares_plain(5) == 30
    assert flowy_v04.sum_squares_plain(6) == 55


def test_sum_squares_on_the_default_process_pool():
    assert flowy_v04.run_sum_squares(7) == 91


@pytest.mark.parametrize('workflow, engine, plain', [
    (flowy_v04.Chain, 65536, 65536),
    (flowy_v04.AllThenOne, 9, 9),
    (flowy_v04.PlainSum, 30, 30),
    (flowy_v04.Fastest, 4, 1),
    (flowy_v04.FastestTwo, 5, 5),
    (flowy_v04.Branch, 400, 400),
    (flowy_v04.LeftFold, 91, 91),
    (flowy_v04.FinishOrderFold, 91, 91),
    (flowy_v04.TreeFold, 91, 91),
])
def test_patterns(workflow, engine, plain):
    assert flowy_v04.run_pattern(workflow, unit=UNIT) == engine
    assert flowy_v04.run_pattern_plain(workflow) == plain


# -- the original flowy, 0.1-0.3 --------------------------------------------------------------

def test_echo():
    assert flowy_v02.echo('a', 'b', c='c') == ('a', 'b', 'c')
    with pytest.raises(ValueError):
        flowy_v02.echo(1)
    assert flowy_v02.run_echo_both() == (('activity echo',), 'workflow echo')


@pytest.mark.parametrize('image, folder', [('sky', 'b'), ('grass', 'g'), ('brick', 'r')])
def test_image_categorization(image, folder):
    result = flowy_v02.run_image_categorization('http://example.com/%s.jpeg' % image)
    assert result == '/tmp/flowy-%s-256x256.jpeg -> /tmp/%s.jpeg' % (image, folder)


def test_parity():
    assert flowy_v02.run_parity(40) == 'even: True'
    assert flowy_v02.run_parity(77) == 'caught: 77 is odd'


def test_async_activity_completed_and_failed_from_outside():
    with flowy_v02.approval_workflow() as workflow:
        run, token = flowy_v02.start_approval(workflow, 'invoice 7')
        assert flowy_v02.PENDING[token] == 'invoice 7'
        run.signal('complete', {'result': 'paid'})
        assert run.result(timeout=10) == 'paid'

        run, token = flowy_v02.start_approval(workflow, 'invoice 8')
        run.signal('complete', {'error': 'refused by the bank'})
        with pytest.raises(TaskError, match='refused by the bank'):
            run.result(timeout=10)


# -- simpleflow -------------------------------------------------------------------------------

def test_basic():
    assert simpleflow_examples.run_basic(1, UNIT) == 4


def test_canvas():
    chain, sent, group = simpleflow_examples.run_canvas()
    assert chain == ['Something', ('Something Else', 42)]
    assert sent == ('Something Else', 'Something')
    assert group == ['Something', ('Something Else', 42)]


@pytest.mark.parametrize('batch', [None, 2])
def test_funcgroup(batch):
    assert simpleflow_examples.run_funcgroup('s3://bucket/foo', batch) == [
        'S3://BUCKET/FOO/PART-%d' % i for i in range(3)]


def test_error_handling():
    simpleflow_examples.CALLS.clear()
    assert simpleflow_examples.run_errors('test-') == (
        'test-retried ok after 3 attempts', 'ignored: test-quiet: attempt 1 failed')


def test_signals():
    assert simpleflow_examples.run_signals(UNIT) == (42, None)


def test_continue_as_new():
    assert simpleflow_examples.run_count_to_ten() == (10, 11)


def test_timers_markers_and_child():
    assert simpleflow_examples.run_reminder(UNIT) == (12, True)


def test_steps_by_repair(tmp_path):
    simpleflow_examples.DONE.clear()
    simpleflow_examples.BROKEN['next step'] = True
    failure, result = simpleflow_examples.run_steps(str(tmp_path / 'runs.db'))
    assert failure == 'the next step failed'
    assert result == ('this is something', 'next step done')
    assert simpleflow_examples.DONE == ['something']


# -- pyworkflow -------------------------------------------------------------------------------

@pytest.mark.parametrize('pair, until, result', [
    ([3, 4], 0, 12),
    ([3, 4], 100, 192),
    ([11, 2], 0, 'failed: first operand must be <= 10'),
    ('3 x 4', 0, 'failed: invalid input: expected [a, b]'),
])
def test_foo_workflow(pair, until, result):
    assert pyworkflow_examples.run_foo(pair, until) == result


def test_multiplication_as_plain_python():
    assert pyworkflow_examples.multiply([7, 6]) == 42
    with pytest.raises(pyworkflow_examples.Aborted):
        pyworkflow_examples.multiply([12, 1])
