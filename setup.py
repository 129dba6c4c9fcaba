from setuptools import find_packages, setup

with open('README.rst', encoding='utf-8') as stream:
    long_description = stream.read()

setup(
    name='flowy',
    version='0.5.0.dev0',
    description='Workflows as ordinary Python: lazy task results, inferred parallelism, '
                'run locally on threads or processes',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='MIT',
    packages=find_packages(include=['flowy', 'flowy.*']),
    python_requires='>=3.11',
    install_requires=[
        'boto3>=1.26',
        'venusian>=3.0',
        'lazy-object-proxy>=1.9',
        'blinker>=1.6',  # flowy.events
    ],
    extras_require={
        'test': [
            'pytest>=7',
            'pytest-timeout>=2.1',
            'hypothesis>=6.80',
            # pinned: tests/swf/moto_ext.py patches moto's SWF internals (a canary test
            # fails if they change); flask and flask-cors run its server on 127.0.0.1
            'moto==5.2.1',
            'flask>=2.2',
            'flask-cors>=3.0',
        ],
        'docs': ['sphinx>=7'],
        # activities on a Dask cluster: LocalWorkflow(executor=client.get_executor())
        'dask': ['distributed>=2023.1'],
        # spans of runs and task calls: flowy.otel.instrument()
        'otel': ['opentelemetry-api>=1.20', 'opentelemetry-sdk>=1.20'],
        # a live progress bar: run(..., _progress=True), flowy local resume
        'progress': ['tqdm>=4.60'],
    },
    entry_points={'console_scripts': ['flowy = flowy.__main__:main']},
    classifiers=[
        'Development Status :: 3 - Alpha',
        'Intended Audience :: Developers',
        'License :: OSI Approved :: MIT License',
        'Programming Language :: Python :: 3',
        'Topic :: System :: Distributed Computing',
    ],
)
