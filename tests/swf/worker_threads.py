"""SWF workers polling in threads for the end-to-end tests: started and stopped by ``with``."""

JOIN_TIMEOUT = 10  # seconds a stopped worker may take to leave its poll loop


class WorkerThreads:
    """Subclasses set ``threads`` (one per worker's ``run_forever``) and ``workers``.

    Entering starts the threads; leaving stops every worker, calls :meth:`released`
    (for anything a test held back), and fails if a thread does not end in time.
    """

    threads = ()
    workers = ()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        for worker in self.workers:
            worker.stop()
        self.released()
        for thread in self.threads:
            thread.join(JOIN_TIMEOUT)
        assert not any(thread.is_alive() for thread in self.threads), 'a worker did not stop'

    def released(self):
        """Let go of what the test holds back, once the workers are told to stop."""
