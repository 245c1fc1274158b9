import functools
import json

import pytest

from service.jobs import (
    BooleanVar,
    DryRunVar,
    FileVar,
    IntegerVar,
    Job,
    JobNotRunning,
    RegistrationError,
    StringVar,
    UploadedFile,
    ValidationError,
)

SPEC_KEYS = {
    "module_name",
    "job_class_name",
    "grouping",
    "name",
    "description",
    "summary",
    "approval_required",
    "dryrun_default",
    "field_order",
    "has_sensitive_variables",
    "hidden",
    "read_only",
    "soft_time_limit",
    "time_limit",
    "task_queues",
    "is_singleton",
    "retry_on_worker_lost",
    "concurrency_key",
    "concurrency_key_callable",
    "concurrency_limit",
    "concurrency_policy",
    "retries",
    "retry_backoff",
    "retry_on",
    "on_success_run",
    "on_failure_run",
    "is_job_hook_receiver",
    "is_job_button_receiver",
    "supports_dryrun",
    "variables",
}


class Plain(Job):
    def run(self):
        return None


class Parent(Job):
    first = StringVar()
    second = IntegerVar()

    def run(self, **data):
        return data


class Child(Parent):
    third = BooleanVar()
    first = StringVar(max_length=3)  # overriding keeps the parent's position


# ----- Meta ----------------------------------------------------------------------------------------


def test_meta_defaults_follow_nautobot():
    spec = Plain.job_spec()
    assert spec["name"] == "Plain"
    assert spec["description"] == "" and spec["summary"] == ""
    assert spec["approval_required"] is False
    assert spec["dryrun_default"] is False
    assert spec["field_order"] == []
    assert spec["has_sensitive_variables"] is True
    assert spec["hidden"] is False
    assert spec["read_only"] is False
    assert spec["soft_time_limit"] is None and spec["time_limit"] is None
    assert spec["task_queues"] == []
    assert spec["is_singleton"] is False
    assert spec["retry_on_worker_lost"] is False
    assert spec["is_job_hook_receiver"] is False and spec["is_job_button_receiver"] is False
    assert spec["supports_dryrun"] is False


def test_a_job_supports_dry_runs_with_a_dryrunvar_or_a_legacy_run_only():
    class WithVar(Job):
        dryrun = DryRunVar()

        def run(self, dryrun):
            return None

    class Legacy(Job):
        def run(self, data, commit):
            return None

    assert WithVar.job_spec()["supports_dryrun"] is True
    assert Legacy.job_spec()["supports_dryrun"] is True
    assert Plain.job_spec()["supports_dryrun"] is False


def test_a_legacy_run_is_recognised_through_a_decorator_and_keyword_only_data_is_not_legacy():
    def logged(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            return function(*args, **kwargs)

        return wrapper

    class Decorated(Job):
        @logged
        def run(self, data, commit):
            return None

    class KeywordOnly(Job):
        def run(self, *, data, commit):
            return None

    class PositionalOnly(Job):
        def run(self, data, commit, /):
            return None

    assert Decorated.job_spec()["supports_dryrun"] is True
    assert KeywordOnly.job_spec()["supports_dryrun"] is False
    assert PositionalOnly.job_spec()["supports_dryrun"] is True


def test_job_spec_has_exactly_the_documented_keys_and_serialises():
    spec = Child.job_spec()
    assert set(spec) == SPEC_KEYS
    assert json.loads(json.dumps(spec)) == spec
    assert spec["module_name"] == __name__
    assert spec["job_class_name"] == "Child"


def test_meta_values_reach_the_spec():
    class Configured(Job):
        class Meta:
            name = "Configure devices"
            description = """
                Push configuration to devices.

                Uses **Markdown**.
            """
            approval_required = True
            dryrun_default = True
            has_sensitive_variables = False
            hidden = True
            read_only = True
            soft_time_limit = 30
            time_limit = 60.5
            task_queues = ["high", "default"]
            is_singleton = True
            retry_on_worker_lost = True

        def run(self):
            return None

    spec = Configured.job_spec()
    assert spec["name"] == "Configure devices"
    assert spec["description"] == "Push configuration to devices.\n\nUses **Markdown**."
    assert spec["summary"] == "Push configuration to devices."
    assert spec["approval_required"] and spec["dryrun_default"] and spec["hidden"] and spec["read_only"]
    assert spec["has_sensitive_variables"] is False
    assert (spec["soft_time_limit"], spec["time_limit"]) == (30, 60.5)
    assert spec["task_queues"] == ["high", "default"]
    assert spec["is_singleton"] and spec["retry_on_worker_lost"]


@pytest.mark.parametrize(("commit_default", "dryrun_default"), [(False, True), (True, False)])
def test_commit_default_is_taken_as_the_inverse_of_dryrun_default(commit_default, dryrun_default):
    class Legacy(Job):
        class Meta:
            pass

        def run(self, data, commit):
            return None

    Legacy.Meta.commit_default = commit_default
    assert Legacy.job_spec()["dryrun_default"] is dryrun_default


def test_explicit_dryrun_default_wins_over_commit_default():
    class Both(Job):
        class Meta:
            commit_default = True
            dryrun_default = True

        def run(self):
            return None

    assert Both.job_spec()["dryrun_default"] is True


@pytest.mark.parametrize(
    ("attr", "value"),
    [("hidden", "yes"), ("time_limit", -1), ("soft_time_limit", "10"), ("task_queues", "high"), ("name", 3)],
)
def test_bad_meta_values_are_refused_with_the_attribute_named(attr, value):
    class Bad(Job):
        class Meta:
            pass

        def run(self):
            return None

    setattr(Bad.Meta, attr, value)
    with pytest.raises(RegistrationError, match=f"Bad.Meta.{attr} must be"):
        Bad.job_spec()


# ----- grouping --------------------------------------------------------------------------------------


def test_grouping_is_the_last_part_of_the_module_name(load_module):
    module = load_module(
        """
        from service.jobs import Job

        class Thing(Job):
            def run(self):
                return None
        """,
        filename="inventory.py",
    )
    assert module.Thing.job_spec()["grouping"] == "inventory"


def test_grouping_is_the_module_level_name_when_set(load_module):
    module = load_module(
        """
        from service.jobs import Job

        name = "Network tools"

        class Thing(Job):
            def run(self):
                return None
        """
    )
    assert module.Thing.job_spec()["grouping"] == "Network tools"


# ----- variables, inheritance and order ----------------------------------------------------------------


def test_variables_are_inherited_parent_first():
    assert list(Child.variables()) == ["first", "second", "third"]
    assert Child.variables()["first"].max_length == 3


def test_field_order_puts_named_fields_first_and_keeps_the_rest():
    class Ordered(Child):
        class Meta:
            field_order = ["third", "missing", "first"]

    assert list(Ordered.variables()) == ["third", "first", "second"]
    assert [item["name"] for item in Ordered.variable_schema()] == ["third", "first", "second"]


def test_a_subclass_can_hide_a_parent_variable():
    class Hiding(Parent):
        second = None

    assert list(Hiding.variables()) == ["first"]


def test_variables_named_like_job_methods_are_refused():
    with pytest.raises(RegistrationError, match="fail, run"):

        class Clashing(Job):
            fail = StringVar()
            run = StringVar()


def test_a_variable_may_share_its_name_with_an_instance_attribute():
    class Nautobot2Style(Job):
        dryrun = BooleanVar()
        user = StringVar(required=False)

    assert list(Nautobot2Style.variables()) == ["dryrun", "user"]


# ----- validate_data -----------------------------------------------------------------------------------


def test_validate_data_returns_cleaned_values_for_every_variable():
    assert Child.validate_data({"first": " abc ", "second": "2"}) == {
        "first": "abc",
        "second": 2,
        "third": False,
    }


def test_validate_data_collects_every_field_error_at_once():
    with pytest.raises(ValidationError) as caught:
        Child.validate_data({"first": "toolong", "third": "maybe", "surprise": 1})
    assert caught.value.fields == {
        "first": ["Ensure this value has at most 3 characters (it has 7)."],
        "second": ["This field is required."],
        "third": ["Enter a valid boolean (true or false)."],
        "surprise": ["Unknown field."],
    }


def test_validate_data_accepts_none_for_a_job_without_required_variables():
    assert Plain.validate_data(None) == {}


def test_validate_data_refuses_data_that_is_not_a_mapping():
    with pytest.raises(ValidationError) as caught:
        Plain.validate_data(["first"])
    assert list(caught.value.fields) == ["__all__"]


def test_validate_data_takes_files_for_file_variables():
    class Upload(Job):
        devices = FileVar()

        def run(self, devices):
            return None

    upload = UploadedFile(name="d.csv", content=b"x")
    assert Upload.validate_data({}, files={"devices": upload}) == {"devices": upload}
    with pytest.raises(ValidationError) as caught:
        Upload.validate_data({}, files={"other": upload})
    assert caught.value.fields["other"] == ["Unknown field."]


# ----- helpers outside a run -----------------------------------------------------------------------------


def test_a_job_instance_has_run_attributes_before_any_run():
    job = Plain()
    assert (job.dryrun, job.user, job.job_result, job.failed) == (False, None, None, False)
    job.logger.success("works outside a run too")


def test_create_file_outside_a_run_is_refused_clearly():
    with pytest.raises(JobNotRunning, match="only be used while the job is being run"):
        Plain().create_file("out.txt", "x")


def test_default_run_says_it_must_be_defined():
    with pytest.raises(NotImplementedError, match="must define the run method"):
        Job().run()


# ----- load_yaml / load_json -------------------------------------------------------------------------------

FILE_JOB = """
from service.jobs import Job

class Reader(Job):
    def run(self):
        return None
"""


def test_load_yaml_and_load_json_read_beside_the_job_module(tmp_path, load_module):
    module = load_module(FILE_JOB, directory=tmp_path / "jobs")
    (tmp_path / "jobs" / "data").mkdir()
    (tmp_path / "jobs" / "data" / "sites.yaml").write_text("sites:\n  - ams1\n  - lon1\n")
    (tmp_path / "jobs" / "vlans.json").write_text('{"vlans": [10]}')
    job = module.Reader()
    assert job.load_yaml("data/sites.yaml") == {"sites": ["ams1", "lon1"]}
    assert job.load_json("vlans.json") == {"vlans": [10]}


def test_load_yaml_refuses_objects_that_safe_load_refuses(tmp_path, load_module):
    import yaml

    module = load_module(FILE_JOB, directory=tmp_path / "jobs")
    (tmp_path / "jobs" / "evil.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(yaml.YAMLError):
        module.Reader().load_yaml("evil.yaml")


@pytest.mark.parametrize("path", ["../secret.yaml", "data/../../secret.yaml", "ABSOLUTE"])
def test_load_yaml_refuses_paths_leaving_the_job_directory(tmp_path, load_module, path):
    module = load_module(FILE_JOB, directory=tmp_path / "jobs")
    (tmp_path / "secret.yaml").write_text("password: hunter2\n")
    if path == "ABSOLUTE":
        path = str(tmp_path / "secret.yaml")
    with pytest.raises(ValidationError) as caught:
        module.Reader().load_yaml(path)
    assert list(caught.value.fields) == ["path"]


def test_load_json_refuses_a_symlink_pointing_outside(tmp_path, load_module):
    module = load_module(FILE_JOB, directory=tmp_path / "jobs")
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "jobs" / "link.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(ValidationError) as caught:
        module.Reader().load_json("link.json")
    assert "outside the job's directory" in caught.value.fields["path"][0]


def test_a_subclass_reads_its_own_options_and_variables_after_its_parent_was_read():
    class Parent(Job):
        first = StringVar()

        class Meta:
            name = "Parent"

        def run(self, first):
            return None

    assert Parent.options().name == "Parent" and list(Parent.variables()) == ["first"]

    class Child(Parent):
        second = StringVar()

        class Meta:
            name = "Child"
            field_order = ["second"]

    assert Child.options().name == "Child" and list(Child.variables()) == ["second", "first"]
    assert Parent.options().name == "Parent" and list(Parent.variables()) == ["first"]
    Child.variables().clear()  # each caller gets its own dict
    assert list(Child.variables()) == ["second", "first"]
