"""Concurrency keys in the authoring API: the template is checked at registration, filled per run."""

import pytest

from service.jobs import Job, StringVar
from service.jobs.concurrency import format_key, template_names
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
        ({"concurrency_key": lambda data: "x"}, "format string"),
        ({"concurrency_key": "k", "concurrency_limit": 0}, "concurrency_limit"),
        ({"concurrency_key": "k", "concurrency_policy": "later"}, "concurrency_policy"),
    ],
)
def test_a_bad_key_limit_or_policy_is_refused_at_registration(meta, says):
    with pytest.raises(RegistrationError, match=says):
        _job(**meta).options()


def test_context_names_may_be_used_besides_variables():
    assert _job(concurrency_key="{job}:{user}:{object_type}:{object_id}:{device}").options().concurrency_key
