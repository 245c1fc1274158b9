"""Retry and chain options: Meta.retries, retry_backoff, retry_on, on_success_run and on_failure_run
are checked at registration; the lifecycle marks which failures may be retried and which runs chain;
the backoff grows, caps and jitters."""

import random

import pytest

from service.jobs import Job
from service.jobs.errors import JobFailed, RegistrationError
from service.jobs.lifecycle import execute
from service.jobs.retries import Backoff


class Sink:
    def log(self, entry):
        pass

    def save_file(self, name, content):
        pass


def job_with(run, **meta):
    meta.setdefault("has_sensitive_variables", False)
    return type("Declared", (Job,), {"Meta": type("Meta", (), meta), "run": run})


def raises(exc):
    def run(self):
        raise exc
    return run


def test_the_defaults_are_no_retries_an_exponential_backoff_and_any_exception():
    options = job_with(raises(ValueError())).options()
    assert (options.retries, options.retry_backoff, options.retry_on) == (0, Backoff(), (Exception,))
    spec = job_with(raises(ValueError()), retries=3, retry_backoff=2).job_spec()
    assert spec["retries"] == 3 and spec["retry_backoff"]["base"] == 2.0
    assert spec["retry_on"] == ["builtins.Exception"]


@pytest.mark.parametrize(("attr", "value"), [
    ("retries", -1), ("retries", True), ("retries", "2"),
    ("retry_backoff", "fast"), ("retry_backoff", {"base": 1, "speed": 2}), ("retry_backoff", {"factor": 0.5}),
    ("retry_backoff", {"base": -1}),
    ("retry_on", "ValueError"), ("retry_on", (ValueError, 3)), ("retry_on", ()),
])
def test_a_bad_retry_option_is_refused_at_registration_naming_it(attr, value):
    with pytest.raises(RegistrationError, match=attr):
        job_with(raises(ValueError()), **{"retries": 1, attr: value}).options()


def test_the_backoff_grows_by_its_factor_up_to_its_cap_plus_at_most_its_jitter():
    backoff = Backoff(base=5, factor=3, max=60, jitter=0.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [5, 15, 45, 60]
    jittered = Backoff(base=10, factor=2, max=600, jitter=0.5)
    waits = [jittered.delay(1, random.Random(seed)) for seed in range(50)]
    assert all(10 <= wait <= 15 for wait in waits) and len(set(waits)) > 1


def outcome_of(job_class):
    return execute(job_class, {}, sink=Sink())


def test_a_failure_by_exception_of_a_job_with_retries_is_retryable():
    outcome = outcome_of(job_with(raises(ValueError("x")), retries=1))
    assert outcome.status == "FAILURE" and outcome.retryable


def test_a_job_without_retries_is_never_retryable():
    assert not outcome_of(job_with(raises(ValueError("x")))).retryable


def test_the_jobs_own_verdict_is_never_retryable():
    def fails(self):
        self.fail("no")
    assert not outcome_of(job_with(fails, retries=1)).retryable
    assert not outcome_of(job_with(raises(JobFailed("no")), retries=1)).retryable


def test_retry_on_narrows_which_exceptions_are_retried():
    assert outcome_of(job_with(raises(TimeoutError()), retries=1, retry_on=(TimeoutError,))).retryable
    assert not outcome_of(job_with(raises(ValueError()), retries=1, retry_on=TimeoutError)).retryable


def test_a_success_is_not_retryable():
    def succeeds(self):
        return 1
    outcome = outcome_of(job_with(succeeds, retries=1))
    assert outcome.status == "SUCCESS" and not outcome.retryable


def test_chained_jobs_are_named_by_class_path_one_or_a_list_and_anything_else_is_refused():
    def succeeds(self):
        return 1
    one = job_with(succeeds, on_success_run="team/jobs.backup/Backup").options()
    assert one.on_success_run == ("team/jobs.backup/Backup",) and one.on_failure_run == ()
    assert outcome_of(job_with(succeeds, on_failure_run=["a/b/C", "a/b/D"])).chained
    assert not outcome_of(job_with(succeeds)).chained
    for bad in ("Backup", ["a/b/C", 3], 7):
        with pytest.raises(RegistrationError, match="on_success_run"):
            job_with(succeeds, on_success_run=bad).options()
