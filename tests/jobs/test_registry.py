import pytest

from service.jobs import (
    Job,
    JobButtonReceiver,
    JobHookReceiver,
    RegistrationError,
    StringVar,
    clear_registry,
    job_path,
    register_jobs,
    registered_jobs,
)


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
    with pytest.raises(RegistrationError, match=f"already registered as {__name__}/Sample"):
        register_jobs(make_job("Sample"))


def test_same_class_name_in_another_module_is_a_different_job():
    one, other = make_job("Sample", "jobs.one"), make_job("Sample", "jobs.other")
    register_jobs(one, other)
    assert [job_path(job) for job in registered_jobs()] == ["jobs.one/Sample", "jobs.other/Sample"]


@pytest.mark.parametrize("thing", [object(), "Job", int, lambda: None])
def test_anything_but_a_job_subclass_is_refused(thing):
    with pytest.raises(RegistrationError, match="is not a Job subclass"):
        register_jobs(thing)


@pytest.mark.parametrize("base", [Job, JobHookReceiver, JobButtonReceiver])
def test_the_base_classes_themselves_are_refused(base):
    with pytest.raises(RegistrationError, match="is a base class"):
        register_jobs(base)


def test_a_job_without_run_is_refused():
    class NoRun(Job):
        pass

    with pytest.raises(RegistrationError, match="must define run"):
        register_jobs(NoRun)


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

    with pytest.raises(RegistrationError, match="must define receive_job_hook"):
        register_jobs(Hook)
    with pytest.raises(RegistrationError, match="must define receive_job_button"):
        register_jobs(Button)


def test_receivers_declaring_variables_are_refused():
    class Hook(JobHookReceiver):
        extra = StringVar()

        def receive_job_hook(self, change, action, changed_object):
            return None

    with pytest.raises(RegistrationError, match="receivers take no variables, but it declares extra"):
        register_jobs(Hook)


def test_a_job_with_a_bad_meta_is_refused_at_registration():
    class Bad(Job):
        class Meta:
            hidden = "no"

        def run(self):
            return None

    with pytest.raises(RegistrationError, match="Meta.hidden"):
        register_jobs(Bad)


def test_a_refused_class_registers_none_of_its_call():
    earlier, good = make_job("Earlier"), make_job("Good")
    register_jobs(earlier)
    with pytest.raises(RegistrationError):
        register_jobs(good, object())
    assert registered_jobs() == [earlier]


def test_two_different_classes_with_one_path_in_one_call_are_refused():
    with pytest.raises(RegistrationError, match="already registered"):
        register_jobs(make_job("Twin"), make_job("Twin"))
    assert registered_jobs() == []


def test_clear_registry_forgets_every_job():
    register_jobs(make_job())
    clear_registry()
    assert registered_jobs() == []
