"""The layers point one way: core <- drivers <- engines, and engines never meet.

The core (results, history, decisions, operations, serialization) imports no driver,
the drivers import no engine, the local engine and the SWF engine never import each
other, and neither the core, the drivers nor the local engine need boto3.
"""

import ast
import os
import subprocess
import sys
import textwrap

import pytest

import flowy

PACKAGE_DIR = os.path.dirname(os.path.abspath(flowy.__file__))
BOTO = ('boto3', 'botocore')
# What each layer must not import; the package's __init__ and __main__ wire the layers.
FORBIDDEN_BY_LAYER = {
    'core': ('flowy.drivers', 'flowy.local', 'flowy.swf') + BOTO,
    'drivers': ('flowy.local', 'flowy.swf') + BOTO,
    'local': ('flowy.swf',) + BOTO,
    'swf': ('flowy.local',),
}
WIRING = ('flowy', 'flowy.__main__')


def layer_of(module):
    """'core', 'drivers', 'local', 'swf', or None for the modules that wire them."""
    if module in WIRING:
        return None
    parts = module.split('.')
    if len(parts) >= 2 and parts[1] in ('drivers', 'local', 'swf'):
        return parts[1]
    return 'core'


def all_modules():
    """(module name, path) of every module of the flowy package."""
    found = []
    for directory, subdirectories, files in os.walk(PACKAGE_DIR):
        relative = os.path.relpath(directory, PACKAGE_DIR)
        subdirectories[:] = [d for d in subdirectories if d != '__pycache__']
        parts = [] if relative == '.' else relative.split(os.sep)
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            stem = name[:-3]
            module = '.'.join(['flowy'] + parts + ([] if stem == '__init__' else [stem]))
            found.append((module, os.path.join(directory, name)))
    return found


def core_modules():
    return [(module, path) for module, path in all_modules() if layer_of(module) == 'core']


def imported_names(module, path):
    """Every absolute module name the file ``path`` imports, relative imports resolved."""
    with open(path, encoding='utf-8') as stream:
        return imported_names_in(module, stream.read(), path)


def imported_names_in(module, source, path='<source>'):
    tree = ast.parse(source, path)
    is_package = os.path.basename(path) == '__init__.py'
    package = module if is_package else module.rpartition('.')[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split('.')
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = '.'.join(base_parts)
                target = base + ('.' + node.module if node.module else '')
            else:
                target = node.module
            names.append(target)
            # ``from . import local`` and ``from flowy import swf`` import submodules
            names.extend(target + '.' + alias.name for alias in node.names)
        elif isinstance(node, ast.Call):
            # importlib.import_module('flowy.swf') / __import__('boto3') with a literal
            func = node.func
            called = getattr(func, 'attr', None) or getattr(func, 'id', None)
            if called in ('import_module', '__import__') and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.append(first.value)
    return names


def forbidden(name, bad_prefixes=FORBIDDEN_BY_LAYER['core']):
    return any(name == bad or name.startswith(bad + '.') for bad in bad_prefixes)


def test_there_is_a_core_to_check():
    modules = {module for module, _ in core_modules()}
    assert {'flowy.result', 'flowy.operations', 'flowy.history', 'flowy.decision',
            'flowy.config', 'flowy.errors', 'flowy.serialization', 'flowy.proxy'} <= modules
    assert not any(module.startswith(('flowy.local', 'flowy.swf', 'flowy.drivers'))
                   for module in modules)


def test_every_layer_has_modules():
    layers = {layer_of(module) for module, _ in all_modules()}
    assert layers == {None, 'core', 'drivers', 'local', 'swf'}


CHECKED = [(module, path) for module, path in all_modules() if layer_of(module) is not None]


@pytest.mark.parametrize('module, path', CHECKED, ids=[module for module, _ in CHECKED])
def test_module_imports_only_the_layers_below(module, path):
    bad_prefixes = FORBIDDEN_BY_LAYER[layer_of(module)]
    bad = sorted({name for name in imported_names(module, path)
                  if forbidden(name, bad_prefixes)})
    assert not bad, '%s (%s layer) imports %s' % (module, layer_of(module), ', '.join(bad))


def test_layers_are_told_apart():
    assert layer_of('flowy.result') == 'core'
    assert layer_of('flowy.drivers') == layer_of('flowy.drivers.cached') == 'drivers'
    assert layer_of('flowy.local.engine') == 'local'
    assert layer_of('flowy.swf.decider') == 'swf'
    assert layer_of('flowy') is None


def test_the_checker_resolves_relative_imports():
    source = textwrap.dedent('''
        from .local import LocalWorkflow
        from . import swf
        from .errors import TaskError
        import boto3.session
        from botocore import client
        import importlib
        importlib.import_module('flowy.swf.worker')
    ''')
    names = imported_names_in('flowy.probe', source)
    assert {name for name in names if forbidden(name)} == {
        'flowy.local', 'flowy.local.LocalWorkflow', 'flowy.swf', 'boto3.session', 'botocore',
        'botocore.client', 'flowy.swf.worker'}
    assert 'flowy.errors' in names
    # inside a subpackage, one dot is the subpackage and two dots are flowy
    names = imported_names_in('flowy.sub.mod', 'from ..swf import x\nfrom .local import y\n')
    assert {name for name in names if forbidden(name)} == {'flowy.swf', 'flowy.swf.x'}
    assert 'flowy.sub.local' in names


LOCAL_ONLY = textwrap.dedent('''
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import flowy

    def double(x):
        return 2 * x

    class Twice:
        def __init__(self, double):
            self.double = double

        def __call__(self, x):
            return self.double(self.double(x))

    workflow = flowy.LocalWorkflow(Twice, executor=ThreadPoolExecutor)
    workflow.conf_activity('double', double)
    assert workflow.run(3) == 12
    loaded = sorted(name for name in sys.modules
                    if name.split('.')[0] in ('boto3', 'botocore') or name.startswith('flowy.swf'))
    print('loaded:', loaded)
    assert not loaded, loaded
''')


def test_local_run_does_not_import_boto3():
    done = subprocess.run([sys.executable, '-c', LOCAL_ONLY], check=False, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'loaded: []' in done.stdout
