"""Applying a discovery report to Job rows with set-wise statements: many jobs, each written right.

1,200 jobs: more than one IN list on SQLite (``service.infra.many``), one array on PostgreSQL.
"""

import pytest
from sqlalchemy import select

from repos.report import DiscoveredJob, DiscoveryReport, ModuleError
from service.jobs import Job as JobClass
from service.jobs import StringVar
from service.models import OVERRIDABLE_FIELDS, GitRepository, Job, JobHook, ScheduledJob, utcnow
from service.sources.apply import apply_discovery

SIZE = 1200
V1, V2, V3 = "1" * 40, "2" * 40, "3" * 40


class Template(JobClass):
    who = StringVar(max_length=50)

    class Meta:
        name = "Template"


TEMPLATE = Template.job_spec()


def spec(number: int, **changes) -> dict:
    return {**TEMPLATE, "name": f"Job {number}", "description": f"Job number {number}.",
            "concurrency_key": f"key-{number}", "retries": 2, **changes}


def report(numbers, **changes) -> DiscoveryReport:
    return DiscoveryReport(namespace="bulk", jobs=[
        DiscoveredJob(f"bulk.jobs.module_{n // 10}", f"Job{n}", spec(n, **changes)) for n in numbers
    ])


def path(number: int) -> str:
    return f"bulk/jobs.module_{number // 10}/Job{number}"


@pytest.fixture
def repository_id(runtime):
    with runtime.db.session() as session:
        repository = GitRepository(name="Bulk", slug="bulk", remote_url="https://example.com/bulk.git")
        session.add(repository)
        session.flush()
        return repository.id


def apply(runtime, repository_id, discovered, version, environment_key=None):
    with runtime.db.session() as session:
        return apply_discovery(session, discovered, source="git", namespace="bulk", version=version,
                               repository=session.get(GitRepository, repository_id),
                               environment_key=environment_key)


def rows(runtime) -> dict[str, Job]:
    with runtime.db.session() as session:
        return {job.class_path: job for job in session.scalars(select(Job))}


def test_a_sync_creating_many_jobs_creates_each_exactly_once_with_its_metadata(runtime, repository_id):
    plan = apply(runtime, repository_id, report(range(SIZE)), V1, environment_key="env-1")

    jobs = rows(runtime)
    assert sorted(job.class_path for job in plan.added) == sorted(map(path, range(SIZE)))
    assert len(jobs) == SIZE and set(jobs) == set(map(path, range(SIZE)))
    for number in range(SIZE):
        job = jobs[path(number)]
        assert (job.source, job.repository_id, job.module_name, job.job_class_name) == (
            "git", repository_id, f"bulk.jobs.module_{number // 10}", f"Job{number}")
        assert (job.name, job.description, job.grouping) == (f"Job {number}", f"Job number {number}.",
                                                            TEMPLATE["grouping"])
        assert [variable["name"] for variable in job.variables] == ["who"]
        assert not job.enabled and job.installed and job.import_error is None
        assert (job.commit, job.environment_key) == (V1, "env-1")
        assert (job.concurrency_key, job.retries, job.on_success_run) == (f"key-{number}", 2, None)
        assert not any(getattr(job, f"{field}_override") for field in OVERRIDABLE_FIELDS)
        assert job.created is not None and job.last_updated is not None


def test_applying_the_same_report_again_changes_no_row(runtime, repository_id):
    apply(runtime, repository_id, report(range(SIZE)), V1)
    before = {class_path: job.last_updated for class_path, job in rows(runtime).items()}

    plan = apply(runtime, repository_id, report(range(SIZE)), V1)

    assert plan.is_empty and not plan.added
    assert {class_path: job.last_updated for class_path, job in rows(runtime).items()} == before


def test_admin_overrides_and_enabled_flags_survive_a_bulk_update(runtime, repository_id):
    apply(runtime, repository_id, report(range(SIZE)), V1)
    with runtime.db.session() as session:
        for job in session.scalars(select(Job)):
            number = int(job.job_class_name[3:])
            job.enabled = number % 2 == 0
            if number % 3 == 0:
                job.name, job.name_override = f"Admin's {number}", True
            if number % 5 == 0:
                job.description, job.description_override = "Admin's description", True

    changed = report(range(SIZE), retries=3)
    for found in changed.jobs:
        found.spec.update(name=found.spec["name"] + " v2", description="v2")
    plan = apply(runtime, repository_id, changed, V2)

    jobs = rows(runtime)
    # Every 15th job has both its name and its description overridden: nothing of the plan's changes.
    assert sorted(plan.updated) == sorted(path(n) for n in range(SIZE) if n % 15)
    for number in range(SIZE):
        job = jobs[path(number)]
        assert job.name == (f"Admin's {number}" if number % 3 == 0 else f"Job {number} v2")
        assert job.name_override is (number % 3 == 0)
        assert job.description == ("Admin's description" if number % 5 == 0 else "v2")
        assert job.enabled is (number % 2 == 0)
        assert (job.retries, job.commit, job.installed) == (3, V2, True)


def test_a_changed_setting_outside_the_plan_alone_updates_its_row(runtime, repository_id):
    apply(runtime, repository_id, report(range(10)), V1)
    changed = report(range(10))
    changed.jobs[4].spec["concurrency_limit"] = 3

    apply(runtime, repository_id, changed, V1)

    jobs = rows(runtime)
    assert jobs[path(4)].concurrency_limit == 3
    assert all(jobs[path(n)].concurrency_limit == 1 for n in range(10) if n != 4)


def test_removal_marks_exactly_the_removed_jobs_and_what_points_at_them(runtime, repository_id):
    apply(runtime, repository_id, report(range(SIZE)), V1)
    with runtime.db.session() as session:
        jobs = {job.class_path: job for job in session.scalars(select(Job))}
        for job in jobs.values():
            job.enabled = True
        for number in (7, 8):
            job = jobs[path(number)]
            session.add_all([
                JobHook(name=f"h{number}", content_types=["dcim.device"], job=job, type_create=True),
                ScheduledJob(name=f"s{number}", job=job, start_time=utcnow()),
            ])

    plan = apply(runtime, repository_id, report(range(0, SIZE, 2)), V2)

    assert sorted(plan.removed) == sorted(map(path, range(1, SIZE, 2)))
    jobs = rows(runtime)
    assert len(jobs) == SIZE
    for number in range(SIZE):
        job = jobs[path(number)]
        assert job.enabled  # an admin's choice, kept for when the job comes back
        assert (job.installed, job.commit) == ((True, V2) if number % 2 == 0 else (False, V1))
    with runtime.db.session() as session:
        hooks = {hook.name: hook.enabled for hook in session.scalars(select(JobHook))}
        assert hooks == {"h7": False, "h8": True}
        schedules = {schedule.name: schedule for schedule in session.scalars(select(ScheduledJob))}
        assert not schedules["s7"].enabled and "removed" in schedules["s7"].disabled_reason
        assert schedules["s8"].enabled

    plan = apply(runtime, repository_id, report(range(SIZE)), V3)

    assert sorted(plan.reinstalled) == sorted(map(path, range(1, SIZE, 2)))
    assert all(job.installed and job.enabled and job.commit == V3 for job in rows(runtime).values())


def test_a_failed_modules_jobs_keep_their_commit_until_it_imports_again(runtime, repository_id):
    apply(runtime, repository_id, report(range(30)), V1)
    broken = report(range(10, 30))
    broken = DiscoveryReport(namespace="bulk", jobs=broken.jobs,
                             module_errors=[ModuleError("bulk.jobs.module_0", "SyntaxError: boom")])

    plan = apply(runtime, repository_id, broken, V2)

    assert sorted(plan.kept_from_failed_modules) == sorted(map(path, range(10))) and not plan.removed
    jobs = rows(runtime)
    kept = [(jobs[path(n)].commit, jobs[path(n)].import_error) for n in range(10)]
    assert kept == [(V1, "SyntaxError: boom")] * 10
    assert all((jobs[path(n)].commit, jobs[path(n)].import_error) == (V2, None) for n in range(10, 30))

    apply(runtime, repository_id, report(range(30)), V3)

    jobs = rows(runtime).values()
    assert all((job.commit, job.import_error, job.installed) == (V3, None, True) for job in jobs)


def test_a_removed_repositorys_rows_are_taken_over_as_new_jobs_without_overrides(runtime, repository_id):
    with runtime.db.session() as session:
        session.add_all([
            Job(source="git", repository_id=None, module_name=f"bulk.jobs.module_{n // 10}",
                job_class_name=f"Job{n}", class_path=path(n), name="Old", name_override=True, enabled=True,
                installed=False)
            for n in range(0, 30, 3)
        ])

    plan = apply(runtime, repository_id, report(range(30)), V1)

    jobs = rows(runtime)
    assert len(plan.added) == 30 and len(jobs) == 30
    for number in range(30):
        job = jobs[path(number)]
        assert (job.repository_id, job.name, job.name_override) == (repository_id, f"Job {number}", False)
        assert not job.enabled and job.installed and job.commit == V1


def test_a_class_path_another_source_holds_is_reported_not_added(runtime, repository_id):
    with runtime.db.session() as session:
        session.add(Job(source="local", module_name="bulk.jobs.module_0", job_class_name="Job3",
                        class_path=path(3), name="Local"))

    plan = apply(runtime, repository_id, report(range(10)), V1)

    assert path(3) not in {job.class_path for job in plan.added} and path(3) not in plan.seen
    assert any(path(3) in error for error in plan.errors)
    jobs = rows(runtime)
    assert len(jobs) == 10 and jobs[path(3)].source == "local" and jobs[path(3)].name == "Local"


def test_inserted_rows_hold_what_sqlalchemys_insert_would_write(runtime, repository_id):
    """On PostgreSQL new rows go in with COPY: each column, JSON nulls and the defaults of columns
    left out must come out as the ORM's INSERT writes them."""
    import json
    import uuid

    from sqlalchemy import String, cast, insert

    from service.sources.job_rows import extra_fields, insert_rows

    def row(number: int) -> dict:
        values = {"id": uuid.uuid4(), "source": "git", "repository_id": repository_id,
                  "class_path": f"bulk/copy/Job{number}", "module_name": "bulk.jobs.copy",
                  "job_class_name": f"Job{number}", "name": f"Job {number}", "installed": True,
                  "variables": TEMPLATE["variables"], "task_queues": ["a", 'b "quoted"\tq'],
                  "description": "line\nbreak \\ backslash", **extra_fields(spec(number))}
        if number % 2:  # rows leaving out columns get their defaults
            del values["description"], values["task_queues"]
        return values

    with runtime.db.session() as session:
        insert_rows(session, [row(n) for n in range(4)])
        for parity in (0, 1):  # one set of columns per statement
            session.connection().execute(insert(Job.__table__), [
                {**row(n), "class_path": f"bulk/orm/Job{n}"} for n in range(parity, 4, 2)
            ])

    table = Job.__table__
    skipped = {"id", "class_path", "created", "last_updated"}
    columns = [cast(column, String) if isinstance(column.type, type(table.c.variables.type)) else column
               for column in table.columns if column.name not in skipped]
    with runtime.db.session() as session:
        found = {path: values for path, *values in session.execute(
            select(table.c.class_path, *columns).where(table.c.class_path.like("bulk/%/Job%")))}
        stamps = session.execute(select(table.c.created, table.c.last_updated)
                                 .where(table.c.class_path.like("bulk/copy/%"))).all()
    for number in range(4):
        copied, inserted = found[f"bulk/copy/Job{number}"], found[f"bulk/orm/Job{number}"]
        assert copied == inserted
    assert json.loads(found["bulk/copy/Job0"][[c.name for c in table.columns if c.name not in skipped]
                                              .index("task_queues")]) == ["a", 'b "quoted"\tq']
    assert all(created is not None and updated is not None for created, updated in stamps)


def test_json_values_read_as_text_compare_by_value(runtime, repository_id):
    """Rows' JSON is read as text: equal values written with other spacing or key order are no
    change, a changed value is, and overridden JSON fields keep their decoded values."""
    from sqlalchemy import String, cast, text

    apply(runtime, repository_id, report(range(4)), V1)
    with runtime.db.session() as session:
        session.execute(text(  # same values, other text: as another writer might have stored them
            "UPDATE jobs SET retry_backoff = '{\"jitter\": 0.1, \"max\": 3600.0, \"factor\": 2.0,"
            " \"base\": 10.0}', task_queues = '[ ]' WHERE class_path = :path"), {"path": path(0)})
        job = session.scalar(select(Job).where(Job.class_path == path(1)))
        job.task_queues, job.task_queues_override = ["admin-queue"], True
        job.field_order, job.field_order_override = ["who"], True

    changed = report(range(4))
    changed.jobs[2].spec["retry_on"] = ["builtins.KeyError"]
    changed.jobs[3].spec["variables"] = []
    changed.jobs[1].spec.update(task_queues=["code-queue"], field_order=[])
    plan = apply(runtime, repository_id, changed, V1)

    assert sorted(plan.updated) == [path(3)] and plan.updated[path(3)] == {"variables": []}
    jobs = rows(runtime)
    assert jobs[path(0)].retry_backoff == {"base": 10.0, "factor": 2.0, "max": 3600.0, "jitter": 0.1}
    assert (jobs[path(1)].task_queues, jobs[path(1)].field_order) == (["admin-queue"], ["who"])
    assert jobs[path(2)].retry_on == ["builtins.KeyError"] and jobs[path(3)].variables == []
    with runtime.db.session() as session:  # the row with equal values was not written again
        assert session.scalar(select(cast(Job.retry_backoff, String)).where(Job.class_path == path(0))
                              ).startswith('{"jitter"')


def test_stored_json_equality():
    from service.sources.job_rows import StoredJson, stored

    assert StoredJson('{"a": 1, "b": [1, 2]}') == {"b": [1, 2], "a": 1}
    assert StoredJson('{"a":1}') == {"a": 1} and StoredJson("[1.0]") == [1]
    assert StoredJson("[1]") != [2] and StoredJson("null") == None  # noqa: E711
    assert StoredJson("[1]") == StoredJson("[ 1 ]") and StoredJson("[1]") != StoredJson("[2]")
    assert StoredJson('"x"') != object()
    assert stored("variables", None) is None and stored("name", "[1]") == "[1]"
