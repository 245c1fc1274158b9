from repos.reconcile import (
    OVERRIDABLE_FIELDS,
    JobSnapshot,
    NameClash,
    class_path_for,
    plan_sync,
)
from repos.report import DiscoveredJob


def spec(class_name, **overrides):
    values = {
        "module_name": "ignored",
        "job_class_name": class_name,
        "grouping": "Greetings",
        "name": class_name,
        "description": "",
        "approval_required": False,
        "dryrun_default": False,
        "field_order": [],
        "has_sensitive_variables": True,
        "hidden": False,
        "read_only": False,
        "soft_time_limit": None,
        "time_limit": None,
        "task_queues": [],
        "is_singleton": False,
        "is_job_hook_receiver": False,
        "is_job_button_receiver": False,
        "variables": [{"name": "who", "type": "StringVar"}],
        "summary": "not a synced field",
    }
    values.update(overrides)
    return values


def discovered(class_name, module="demo.jobs.hello", **overrides):
    return DiscoveredJob(module_name=module, class_name=class_name, spec=spec(class_name, **overrides))


def snapshot_of(job, **changes):
    """Return the snapshot of a row exactly as the plan for ``job`` would have stored it."""
    plan = plan_sync("demo", [job], [])
    added = plan.added[0]
    values = dict(added.fields)
    overridden = changes.pop("overridden", frozenset())
    values.update(changes.pop("values", {}))
    return JobSnapshot(
        class_path=added.class_path,
        module_name=job.module_name,
        values=values,
        overridden=frozenset(overridden),
        **changes,
    )


def test_class_path_names_the_module_below_the_namespace():
    assert class_path_for("demo", "demo.jobs.hello", "Hello") == "demo/jobs.hello/Hello"
    assert class_path_for("demo", "demo.jobs", "Top") == "demo/jobs/Top"
    assert class_path_for("system", "service.system_jobs", "Cleanup") == "system/service.system_jobs/Cleanup"


def test_a_new_job_is_added_with_its_synced_fields_only():
    plan = plan_sync("demo", [discovered("Hello")], [])
    [added] = plan.added
    assert added.class_path == "demo/jobs.hello/Hello"
    assert (added.module_name, added.class_name) == ("demo.jobs.hello", "Hello")
    assert added.fields["module_name"] == "demo.jobs.hello" and added.fields["name"] == "Hello"
    assert "summary" not in added.fields
    assert set(OVERRIDABLE_FIELDS) <= set(added.fields)
    assert plan.seen == ["demo/jobs.hello/Hello"]
    assert not plan.is_empty


def test_an_unchanged_job_plans_nothing():
    job = discovered("Hello")
    plan = plan_sync("demo", [job], [snapshot_of(job)])
    assert plan.is_empty
    assert plan.seen == ["demo/jobs.hello/Hello"]
    assert plan.updated == {} and plan.added == [] and plan.errors == []


def test_changed_fields_are_updated_when_not_overridden():
    row = snapshot_of(discovered("Hello"))
    plan = plan_sync("demo", [discovered("Hello", description="Says hello", time_limit=60)], [row])
    assert plan.updated == {"demo/jobs.hello/Hello": {"description": "Says hello", "time_limit": 60}}


def test_overridden_fields_keep_their_values_but_code_owned_fields_still_update():
    row = snapshot_of(
        discovered("Hello"),
        values={"description": "Edited by an admin"},
        overridden={"description", "name"},
    )
    new_code = discovered(
        "Hello", description="From code", name="Renamed", variables=[], is_job_button_receiver=True
    )
    plan = plan_sync("demo", [new_code], [row])
    assert plan.updated == {"demo/jobs.hello/Hello": {"variables": [], "is_job_button_receiver": True}}


def test_a_job_gone_from_the_code_is_removed():
    row = snapshot_of(discovered("Gone"))
    plan = plan_sync("demo", [], [row])
    assert plan.removed == ["demo/jobs.hello/Gone"]
    assert plan.kept_from_failed_modules == [] and not plan.is_empty


def test_an_already_uninstalled_job_is_not_removed_again():
    plan = plan_sync("demo", [], [snapshot_of(discovered("Gone"), installed=False)])
    assert plan.is_empty and plan.removed == []


def test_a_returning_job_is_reinstalled_keeping_enabled_and_overrides():
    row = snapshot_of(
        discovered("Hello"),
        installed=False,
        enabled=True,
        values={"name": "Custom name"},
        overridden={"name"},
    )
    plan = plan_sync("demo", [discovered("Hello", description="Back again")], [row])
    assert plan.reinstalled == ["demo/jobs.hello/Hello"]
    assert plan.updated == {"demo/jobs.hello/Hello": {"description": "Back again"}}
    assert plan.added == [] and plan.removed == []


def test_jobs_of_a_module_that_failed_to_import_are_kept_with_an_error():
    broken = snapshot_of(discovered("Broken", module="demo.jobs.broken"), commit="a" * 40)
    healthy = discovered("Hello")
    plan = plan_sync("demo", [healthy], [broken, snapshot_of(healthy)], failed_modules={"demo.jobs.broken"})
    assert plan.kept_from_failed_modules == ["demo/jobs.broken/Broken"]
    assert plan.removed == []
    assert plan.errors == [
        f"demo/jobs.broken/Broken kept at commit {'a' * 40}: module demo.jobs.broken failed to import."
    ]
    assert plan.is_empty


def test_a_failed_package_keeps_the_jobs_of_every_module_below_it():
    rows = [
        snapshot_of(discovered("Hello")),
        snapshot_of(discovered("Deep", module="demo.jobs.nested.deep")),
        snapshot_of(discovered("Other", module="demo.jobsextra")),
    ]
    plan = plan_sync("demo", [], rows, failed_modules={"demo.jobs"})
    assert plan.kept_from_failed_modules == ["demo/jobs.hello/Hello", "demo/jobs.nested.deep/Deep"]
    assert plan.removed == ["demo/jobsextra/Other"]


def test_a_later_job_with_a_taken_name_gets_a_numbered_suffix():
    jobs = [
        discovered("Hello"),
        discovered("Hi", name="Hello"),
        discovered("Hey", name="Hello"),
        discovered("Elsewhere", name="Hello", grouping="Other"),
    ]
    plan = plan_sync("demo", jobs, [])
    assert [job.fields["name"] for job in plan.added] == ["Hello", "Hello (2)", "Hello (3)", "Hello"]
    assert plan.name_clashes == [
        NameClash("demo/jobs.hello/Hi", "Greetings", "Hello", "Hello (2)"),
        NameClash("demo/jobs.hello/Hey", "Greetings", "Hello", "Hello (3)"),
    ]


def test_an_existing_job_keeps_its_name_when_a_new_one_wants_it():
    existing = discovered("Zeta", name="Report")
    newcomer = discovered("Alpha", name="Report")
    plan = plan_sync("demo", [newcomer, existing], [snapshot_of(existing)])
    assert plan.updated == {}
    assert [job.fields["name"] for job in plan.added] == ["Report (2)"]


def test_names_held_by_removed_rows_and_other_sources_are_avoided():
    removed = snapshot_of(discovered("Old", name="Sync"))
    plan = plan_sync(
        "demo",
        [discovered("New", name="Sync"), discovered("Backup")],
        [removed],
        reserved_names={("Greetings", "Backup")},
    )
    assert {job.class_name: job.fields["name"] for job in plan.added} == {
        "New": "Sync (2)",
        "Backup": "Backup (2)",
    }
    assert plan.removed == ["demo/jobs.hello/Old"]


def test_a_suffixed_name_is_stable_across_syncs():
    jobs = [discovered("Hello"), discovered("Hi", name="Hello")]
    first = plan_sync("demo", jobs, [])
    rows = [JobSnapshot(job.class_path, job.module_name, values=job.fields) for job in first.added]
    second = plan_sync("demo", jobs, rows)
    assert second.is_empty
    assert [clash.assigned for clash in second.name_clashes] == ["Hello (2)"]


def test_a_job_discovered_twice_is_reported_once():
    plan = plan_sync("demo", [discovered("Hello"), discovered("Hello")], [])
    assert len(plan.added) == 1
    assert plan.errors == ["demo/jobs.hello/Hello was discovered twice; the second one is ignored."]
