"""gunicorn settings for jobsync's web process (Procfile: ``gunicorn -c config/gunicorn.conf.py``).

With ``PROMETHEUS_MULTIPROC_DIR`` set, every worker writes its metrics to files in that directory
and any of them answers ``GET /metrics`` with the sum; a worker that exits has its live values
marked dead here. Empty the directory before each start (prometheus-client's rule).
"""

from service.observability.metrics import mark_process_dead


def child_exit(server, worker):
    mark_process_dead(worker.pid)
