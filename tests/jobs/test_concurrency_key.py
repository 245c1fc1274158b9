"""Concurrency keys in the authoring API: a template or a function, checked at registration; a template
is filled per run, a function computes the key per run (only ever in the worker: see tests/runs)."""

import pytest

from service.jobs import Job, StringVar
from service.jobs.concurrency import (
    MAX_KEY_LENGTH,
    KeyFunctionFailed,
    compute_key,
    format_key,
    template_names,
)
from service.jobs.errors import RegistrationError


def test_a_key_is_filled_from_variables_and_reaches_into_mapping_values():
    key = format_key("site:{site.slug}/{device}", {"site": {"slug": "lon"}, "device": "r1"})
    assert key == "site:lon/r1"
    assert format_key("repo", {}) == "repo" and template_names("repo") == set()


def test_a_missing_value_reads_none_rather_than_failing_the_request():
    assert format_key("device:{device}", {}) == "device:None"


def _job(**meta):
    class Keyed(Job):
        device = StringVar()
        Meta = type("Meta", (), meta)

    return Keyed


def test_the_spec_carries_key_limit_and_policy_with_their_defaults():
    spec = _job(concurrency_key="device:{device}").job_spec()
    assert (spec["concurrency_key"], spec["concurrency_limit"], spec["concurrency_policy"]) == (
        "device:{device}", 1, "queue")
    assert _job().job_spec()["concurrency_key"] is None


@pytest.mark.parametrize(
    ("meta", "says"),
    [
        ({"concurrency_key": "device:{devise}"}, "devise"),
        ({"concurrency_key": "x:{}"}, "named"),
        ({"concurrency_key": 42}, "format string"),
        ({"concurrency_key": lambda data: "x"}, r"must take \(data, context\)"),
        ({"concurrency_key": "k", "concurrency_limit": 0}, "concurrency_limit"),
        ({"concurrency_key": "k", "concurrency_policy": "later"}, "concurrency_policy"),
    ],
)
def test_a_bad_key_limit_or_policy_is_refused_at_registration(meta, says):
    with pytest.raises(RegistrationError, match=says):
        _job(**meta).options()


def test_context_names_may_be_used_besides_variables():
    assert _job(concurrency_key="{job}:{user}:{object_type}:{object_id}:{device}").options().concurrency_key


def site_key(data, context):
    return f"site:{data['device'].split('-')[0]}:{context['job']}"


class WithSelf:
    def concurrency_key(self, data, context):  # forgot @staticmethod: self would receive the data
        return "k"


async def awaited_key(data, context):
    return "k"


@pytest.mark.parametrize("bad", [lambda: "k", lambda data, context, extra: "k", WithSelf.concurrency_key,
                                 awaited_key, str])
def test_a_key_function_that_cannot_be_called_with_data_and_context_is_refused_at_registration(bad):
    with pytest.raises(RegistrationError, match="Keyed.Meta.concurrency_key"):
        _job(concurrency_key=bad).options()


def test_a_key_function_is_marked_in_the_spec_with_no_template():
    spec = _job(concurrency_key=site_key, concurrency_policy="skip").job_spec()
    assert (spec["concurrency_key"], spec["concurrency_key_callable"], spec["concurrency_policy"]) == (
        None, True, "skip")
    assert _job(concurrency_key="device:{device}").job_spec()["concurrency_key_callable"] is False


def test_a_plain_function_a_staticmethod_and_a_classmethod_given_the_job_class_all_compute_keys():
    class Static(Job):
        device = StringVar()

        class Meta:
            @staticmethod
            def concurrency_key(data, context):
                return "static:" + data["device"]

    class Bound(Job):
        device = StringVar()
        prefix = "bound"

        class Meta:
            @classmethod
            def concurrency_key(cls, data, context):
                return f"{cls.prefix}:{data['device']}"

    context = {"job": "demo/jobs/Keyed", "user": None, "object_type": None, "object_id": None}
    keyed = _job(concurrency_key=site_key)
    assert compute_key(keyed, {"device": "r1-a"}, context) == "site:r1:demo/jobs/Keyed"
    assert compute_key(Static, {"device": "r1"}, context) == "static:r1"
    assert compute_key(Bound, {"device": "r1"}, context) == "bound:r1"
    assert Static.options().concurrency_key_callable and Bound.options().concurrency_key_callable


def test_a_computed_key_is_capped_like_a_filled_in_one():
    long = _job(concurrency_key=lambda data, context: "k" * (MAX_KEY_LENGTH + 50))
    assert compute_key(long, {}, {}) == "k" * MAX_KEY_LENGTH


def _raises(data, context):
    raise LookupError("no site for r9")


@pytest.mark.parametrize(
    ("function", "says"),
    [
        (_raises, "Keyed.Meta.concurrency_key raised LookupError: no site for r9"),
        (lambda data, context: " ", "Keyed.Meta.concurrency_key returned ' ': a key must be a non-empty"),
        (lambda data, context: 7, "Keyed.Meta.concurrency_key returned 7"),
    ],
)
def test_a_key_function_that_raises_or_returns_no_string_fails_naming_itself(function, says):
    with pytest.raises(KeyFunctionFailed) as failed:
        compute_key(_job(concurrency_key=function), {}, {})
    assert says in str(failed.value)


def test_a_run_pinned_to_a_commit_whose_job_has_a_template_gets_it_filled_in_instead():
    assert compute_key(_job(concurrency_key="device:{device}"), {"device": "r1"}, {}) == "device:r1"
    with pytest.raises(KeyFunctionFailed, match="neither a function nor a template"):
        compute_key(_job(), {}, {})
