import logging
import sys
import uuid
from datetime import UTC, datetime

import pytest

from service.jobs import (
    DispatcherNotConfigured,
    JobIntervals,
    JobLogger,
    JobRunner,
    RegistrationError,
    RunnerNotFound,
    find_runner,
    get_dispatcher,
    registered_runners,
    runner_path,
    set_dispatcher,
    system_job,
    system_jobs,
)


class FakeDispatcher:
    """Records what JobRunner hands the service's dispatcher."""

    def __init__(self):
        self.enqueued = []
        self.queried = []

    def enqueue(self, runner_class, args, kwargs, *, instance, schedule_at, interval, queue, user, once):
        call = dict(
            runner=runner_class,
            args=args,
            kwargs=kwargs,
            instance=instance,
            schedule_at=schedule_at,
            interval=interval,
            queue=queue,
            user=user,
            once=once,
        )
        self.enqueued.append(call)
        return f"job-{len(self.enqueued)}"

    def get_jobs(self, runner_class, instance):
        self.queried.append((runner_class, instance))
        return ["job-1"]


@pytest.fixture
def dispatcher():
    fake = FakeDispatcher()
    set_dispatcher(fake)
    return fake


def make_runner():
    class Cleanup(JobRunner):
        class Meta:
            name = "Clean up"

        def run(self, days, *, dry=False):
            self.logger.info("cleaning %s days", days)
            return {"days": days, "dry": dry, "job": self.job}

    return Cleanup


def test_enqueue_delegates_to_the_dispatcher_with_every_option(dispatcher):
    runner = make_runner()
    when = datetime(2030, 1, 1, tzinfo=UTC)
    job = runner.enqueue(
        30, instance="site-1", schedule_at=when, interval=60, queue="low", user="alice", dry=True
    )
    assert job == "job-1"
    assert dispatcher.enqueued == [
        dict(
            runner=runner,
            args=(30,),
            kwargs={"dry": True},
            instance="site-1",
            schedule_at=when,
            interval=60,
            queue="low",
            user="alice",
            once=False,
        )
    ]


def test_enqueue_once_asks_the_dispatcher_for_a_single_pending_job(dispatcher):
    runner = make_runner()
    runner.enqueue_once(7)
    assert dispatcher.enqueued[0]["once"] is True
    assert dispatcher.enqueued[0]["args"] == (7,)


def test_get_jobs_asks_the_dispatcher(dispatcher):
    runner = make_runner()
    assert runner.get_jobs(instance="site-1") == ["job-1"]
    assert dispatcher.queried == [(runner, "site-1")]


def test_setup_enqueues_once_with_the_interval(dispatcher):
    runner = make_runner()
    runner.setup(interval=JobIntervals.HOURLY)
    assert (dispatcher.enqueued[0]["once"], dispatcher.enqueued[0]["interval"]) == (True, 60)


def test_setup_of_a_system_job_defaults_to_its_declared_interval(dispatcher):
    runner = system_job(interval=JobIntervals.DAILY)(make_runner())
    runner.setup()
    assert dispatcher.enqueued[0]["interval"] == 1440


@pytest.mark.parametrize(
    "call", [lambda r: r.enqueue(), lambda r: r.enqueue_once(), lambda r: r.get_jobs(), lambda r: r.setup()]
)
def test_enqueueing_without_a_dispatcher_raises_dispatcher_not_configured(call):
    with pytest.raises(DispatcherNotConfigured, match="set_dispatcher"):
        call(make_runner())


def test_set_dispatcher_none_uninstalls_it(dispatcher):
    assert get_dispatcher() is dispatcher
    set_dispatcher(None)
    with pytest.raises(DispatcherNotConfigured):
        get_dispatcher()


def test_handle_sets_the_job_and_logger_then_returns_runs_value(caplog):
    runner = make_runner()
    instance = runner()
    with caplog.at_level(logging.INFO, logger="jobsync.runner"):
        result = instance.handle("job-result-1", 30, dry=True)
    assert result == {"days": 30, "dry": True, "job": "job-result-1"}
    assert instance.job == "job-result-1"
    assert isinstance(instance.logger, JobLogger)
    (record,) = caplog.records
    assert record.getMessage() == "cleaning 30 days"
    assert record.job_result == "job-result-1" and record.runner == runner_path(runner)


def test_handlers_attached_before_handle_keep_receiving_the_runners_records():
    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.records = []

        def emit(self, record):
            self.records.append(record)

    instance = make_runner()()
    collect = Collect()
    instance.logger.addHandler(collect)
    instance.handle("job-result-2", 1)
    assert [record.getMessage() for record in collect.records] == ["cleaning 1 days"]
    assert collect.records[0].job_result == "job-result-2"


def test_runner_log_messages_are_sanitised_before_handlers_see_them(caplog):
    class Leaky(JobRunner):
        def run(self):
            self.logger.info("pushing to %s", "https://bot:hunter2@git.example.com/r.git")

    with caplog.at_level(logging.INFO, logger="jobsync.runner"):
        Leaky().handle("jr")
    assert caplog.records[0].getMessage() == "pushing to https://bot:********@git.example.com/r.git"


def test_runner_logger_offers_success_and_failure(caplog):
    class Reporter(JobRunner):
        def run(self):
            self.logger.success("done")
            self.logger.failure("partly")

    with caplog.at_level(logging.DEBUG, logger="jobsync.runner"):
        Reporter().handle("jr")
    assert [record.levelname for record in caplog.records] == ["SUCCESS", "FAILURE"]


def test_run_must_be_defined():
    class Empty(JobRunner):
        pass

    with pytest.raises(NotImplementedError, match="must define run"):
        Empty().handle("jr")


def test_runner_name_is_meta_name_or_class_name():
    class Unnamed(JobRunner):
        def run(self):
            return None

    runner = make_runner()
    assert runner.name == "Clean up" and runner().name == "Clean up"
    assert Unnamed.name == "Unnamed"


def test_every_runner_subclass_registers_itself_by_path():
    runner = make_runner()
    path = runner_path(runner)
    assert path == f"{__name__}:make_runner.<locals>.Cleanup"
    assert registered_runners()[path] is runner
    assert find_runner(path) is runner


def test_find_runner_imports_the_module_of_a_path_not_yet_registered(tmp_path, monkeypatch):
    module_name = f"nightly_{uuid.uuid4().hex}"
    (tmp_path / f"{module_name}.py").write_text(
        "from service.jobs import JobRunner\n\n"
        "class Nightly(JobRunner):\n"
        "    def run(self):\n"
        "        return 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = f"{module_name}:Nightly"
    assert path not in registered_runners()
    try:
        runner = find_runner(path)
        assert runner.__module__ == module_name and runner.__name__ == "Nightly"
    finally:
        sys.modules.pop(module_name, None)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no-colon", "is not a runner path"),
        ("jobsync_no_such_module:Runner", "Cannot import 'jobsync_no_such_module'"),
        ("service.jobs:NoSuchRunner", "No JobRunner is defined at 'service.jobs:NoSuchRunner'"),
    ],
)
def test_find_runner_explains_what_it_could_not_find(path, message):
    with pytest.raises(RunnerNotFound, match=message):
        find_runner(path)


def test_system_job_registers_the_runner_with_its_interval():
    first = system_job(interval=JobIntervals.HOURLY)(make_runner())
    second = system_job(interval=5)(make_runner())
    assert system_jobs() == [(first, 60), (second, 5)]


@pytest.mark.parametrize("interval", [0, -5, "daily", True, 1.5])
def test_system_job_refuses_a_bad_interval(interval):
    with pytest.raises(RegistrationError, match="positive number of minutes"):
        system_job(interval=interval)


def test_system_job_refuses_a_class_that_is_not_a_runner():
    with pytest.raises(RegistrationError, match="applies to JobRunner subclasses"):
        system_job(interval=5)(object)


def test_job_intervals_are_minutes():
    assert [(i.name, int(i)) for i in JobIntervals] == [
        ("MINUTELY", 1),
        ("HOURLY", 60),
        ("EVERY_12_HOURS", 720),
        ("DAILY", 1440),
        ("WEEKLY", 10080),
        ("EVERY_30_DAYS", 43200),
    ]
