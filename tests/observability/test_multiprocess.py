"""Multiprocess mode: any gunicorn worker's /metrics sums what every process recorded."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from service.infra.db import Database
from tests.helpers.metrics import Scrape
from tests.helpers.senders import GITHUB
from tests.helpers.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
RECORD = (
    "from service.observability import metrics\n"
    "for _ in range(3): metrics.run_started('mp-job', 'default', 0.01)\n"
)


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def multiprocess_env(cli_env, database_url, tmp_path):
    Database(database_url).upgrade()
    directory = tmp_path / "prometheus"
    directory.mkdir()
    return {**cli_env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


@pytest.fixture
def gunicorn(multiprocess_env):
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "config" / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", "3", "--graceful-timeout", "5",
         "service.app:create_app()"],
        cwd=ROOT, env=multiprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _get(base + "/healthz"), timeout=120, message="gunicorn")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_gunicorn_worker_answers_with_the_sum_of_all_processes(gunicorn, multiprocess_env):
    for _ in range(2):  # two worker-like processes, each recording three run starts, then exiting
        subprocess.run([sys.executable, "-c", RECORD], env=multiprocess_env, check=True, cwd=ROOT)
    body = GITHUB.body(after="a" * 40)
    for number in range(6):  # spread over the gunicorn workers: each refused (no such repository)
        headers = GITHUB.headers(body, delivery_id=f"mp-{number}")
        assert _post(gunicorn + "/webhooks/git/missing", body, headers) == 404
    for _ in range(12):  # whichever worker answers
        scrape = Scrape(_get(gunicorn + "/metrics"))
        assert scrape.value("jobsync_runs_started_total", job="mp-job") == 6
        assert scrape.value("jobsync_webhook_deliveries_total", outcome="rejected") == 6
    assert os.listdir(multiprocess_env["PROMETHEUS_MULTIPROC_DIR"])
