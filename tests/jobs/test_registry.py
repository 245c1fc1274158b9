import re

import pytest

from service.jobs import (
    Job,
    JobButtonReceiver,
    JobHookReceiver,
    StringVar,
    clear_registry,
    job_path,
    register_jobs,
    registered_jobs,
)
from service.jobs.registry import registering_modules, registration_refusals


def refusal_of(*classes) -> str:
    """Register ``classes`` and return the reasons given for refusing them, joined."""
    before = len(registration_refusals())
    register_jobs(*classes)
    return " | ".join(reason for _module, reason in registration_refusals()[before:])


def make_job(name: str = "Sample", module: str = __name__) -> type[Job]:
    def run(self):
        return None

    return type(name, (Job,), {"run": run, "__module__": module})


def test_registered_jobs_come_back_in_registration_order():
    first, second = make_job("First"), make_job("Second")
    register_jobs(second, first)
    assert registered_jobs() == [second, first]


def test_registering_the_same_class_twice_is_a_no_op():
    job = make_job()
    register_jobs(job)
    register_jobs(job, job)
    assert registered_jobs() == [job]


def test_a_different_class_with_the_same_path_is_refused():
    register_jobs(make_job("Sample"))
    assert re.search(f"already registered as {__name__}/Sample", refusal_of(make_job("Sample")))


def test_same_class_name_in_another_module_is_a_different_job():
    one, other = make_job("Sample", "jobs.one"), make_job("Sample", "jobs.other")
    register_jobs(one, other)
    assert [job_path(job) for job in registered_jobs()] == ["jobs.one/Sample", "jobs.other/Sample"]


@pytest.mark.parametrize("thing", [object(), "Job", int, lambda: None])
def test_anything_but_a_job_subclass_is_refused(thing):
    assert re.search("is not a Job subclass", refusal_of(thing))


@pytest.mark.parametrize("base", [Job, JobHookReceiver, JobButtonReceiver])
def test_the_base_classes_themselves_are_refused(base):
    assert re.search("is a base class", refusal_of(base))


def test_a_job_without_run_registers_as_in_nautobot():
    class NoRun(Job):
        pass

    assert refusal_of(NoRun) == ""
    assert registered_jobs() == [NoRun]


def test_a_legacy_report_with_only_test_methods_is_accepted():
    class Report(Job):
        def test_something(self):
            return None

    register_jobs(Report)
    assert registered_jobs() == [Report]


def test_receivers_must_define_their_receive_method():
    class Hook(JobHookReceiver):
        pass

    class Button(JobButtonReceiver):
        pass

    assert re.search("must define receive_job_hook", refusal_of(Hook))
    assert re.search("must define receive_job_button", refusal_of(Button))


def test_receivers_declaring_variables_are_refused():
    class Hook(JobHookReceiver):
        extra = StringVar()

        def receive_job_hook(self, change, action, changed_object):
            return None

    assert re.search("receivers take no variables, but it declares extra", refusal_of(Hook))


def test_a_job_with_a_bad_meta_is_refused_at_registration():
    class Bad(Job):
        class Meta:
            hidden = "no"

        def run(self):
            return None

    assert re.search("Meta.hidden", refusal_of(Bad))


def test_a_refused_class_leaves_its_siblings_registered():
    earlier, good, after = make_job("Earlier"), make_job("Good"), make_job("After")
    register_jobs(earlier)
    assert "is not a Job subclass" in refusal_of(good, object(), after)
    assert registered_jobs() == [earlier, good, after]


def test_a_class_whose_spec_raises_is_refused_alone_with_the_reason():
    class Exploding(Job):
        @classmethod
        def job_spec(cls):
            raise KeyError("boom")

        def run(self):
            return None

    sibling = make_job("Sibling")
    reason = refusal_of(Exploding, sibling)
    assert "Exploding" in reason and "KeyError" in reason
    assert registered_jobs() == [sibling]


def test_a_refusal_is_reported_against_the_class_module():
    class Bad(Job):
        class Meta:
            hidden = "no"

    register_jobs(Bad)
    assert registration_refusals()[-1][0] == __name__


def test_two_different_classes_with_one_path_in_one_call_keep_the_first():
    first, second = make_job("Twin"), make_job("Twin")
    assert re.search("already registered", refusal_of(first, second))
    assert registered_jobs() == [first]


def test_the_modules_calling_register_jobs_are_remembered_until_cleared():
    register_jobs(make_job())
    assert __name__ in registering_modules()
    clear_registry()
    assert registering_modules() == set() and registration_refusals() == []


def test_clear_registry_forgets_every_job():
    register_jobs(make_job())
    clear_registry()
    assert registered_jobs() == []
