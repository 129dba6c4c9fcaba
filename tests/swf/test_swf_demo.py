"""examples/swf_demo.py runs as docs/swf_local.rst says: against a plain moto server.

The server is a separate ``python -m moto.server`` process, without the test extension,
so this also checks that the engine needs nothing moto lacks for activity workflows.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, 'examples', 'swf_demo.py')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def moto_server():
    port = free_port()
    server = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p',
                               str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d' % port
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + '/moto-api/', timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('the moto server did not start') from None
                time.sleep(0.1)  # waiting for another process to listen: nothing to wait on
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_the_demo_prints_the_sum_of_squares(moto_server):
    env = dict(os.environ, AWS_ENDPOINT_URL_SWF=moto_server, AWS_DEFAULT_REGION='us-east-1',
               AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing')
    env.pop('AWS_ENDPOINT_URL', None)
    done = subprocess.run([sys.executable, DEMO, '10'], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '285'
