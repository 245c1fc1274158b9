"""pynautobot, unchanged, against a live jobsync: a real HTTP server and a real Dramatiq worker."""

import threading

import dramatiq
import pynautobot
import pytest
from werkzeug.serving import make_server

from service.app import create_app
from service.users import create_token, create_user
from tests.helpers.api import HELLO_VARIABLES
from tests.helpers.factories import make_job
from tests.helpers.servers import wait_until

FINAL = ("SUCCESS", "FAILURE", "REVOKED")


@pytest.fixture
def live_url(runtime):
    """A jobsync HTTP server on a free port, and a worker consuming every queue."""
    worker = dramatiq.Worker(
        runtime.broker, queues=set(runtime.settings.all_queues), worker_threads=2, worker_timeout=100
    )
    worker.start()
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="jobsync-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    worker.stop()


@pytest.fixture
def nautobot(runtime, live_url):
    with runtime.db.session() as session:
        user = create_user(session, "automation", permissions=["run_job", "change_job"])
        _, key = create_token(session, user)
        make_job(session, "Hello", name="Hello", grouping="Greetings", variables=HELLO_VARIABLES)
        make_job(session, "Raises", name="Raises", grouping="Failures")
    return pynautobot.api(live_url, token=key)


def test_pynautobot_lists_filters_and_reads_jobs(nautobot):
    assert nautobot.version == "2.4"
    assert sorted(job.name for job in nautobot.extras.jobs.all()) == ["Hello", "Raises"]
    [greeting] = nautobot.extras.jobs.filter(grouping="Greetings", enabled=True)
    assert greeting.name == "Hello" and greeting.installed is True
    assert nautobot.extras.jobs.get(name="Hello").id == greeting.id
    assert nautobot.extras.jobs.get(greeting.id).grouping == "Greetings"


def test_pynautobot_runs_a_job_with_data_then_reads_its_result_and_logs(nautobot):
    job = nautobot.extras.jobs.get(name="Hello")
    response = nautobot.extras.jobs.run(job_id=job.id, data={"who": "pynautobot"})
    result_id = response.job_result.id

    result = wait_until(lambda: _final(nautobot, result_id), timeout=60, message="the run to finish")
    assert result.status.value == "SUCCESS"
    assert result.result == {"greeted": "pynautobot"} and result.job_model.id == job.id

    messages = [entry.message for entry in nautobot.extras.job_logs.filter(job_result=result_id)]
    assert "hello pynautobot" in messages


def test_pynautobot_sees_a_failed_run_and_refused_input(nautobot):
    failing = nautobot.extras.jobs.get(name="Raises")
    result_id = failing.run(data={}).job_result.id
    result = wait_until(lambda: _final(nautobot, result_id), timeout=60, message="the run to finish")
    assert result.status.value == "FAILURE" and "boom" in result.traceback

    with pytest.raises(pynautobot.RequestError) as refused:
        nautobot.extras.jobs.run(job_id=nautobot.extras.jobs.get(name="Hello").id, data={"whom": "x"})
    assert refused.value.req.status_code == 400 and "whom" in refused.value.req.json()


def test_pynautobot_saves_a_change_to_a_job(nautobot):
    job = nautobot.extras.jobs.get(name="Raises")
    job.enabled = False
    assert job.save()
    assert nautobot.extras.jobs.get(job.id).enabled is False


def _final(nautobot, result_id):
    result = nautobot.extras.job_results.get(result_id)
    return result if result.status.value in FINAL else None
