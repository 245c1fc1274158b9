"""Request bodies the API will not accept answer 400 naming the problem, before authentication."""

import logging

import pytest

from service.web.json_input import MAX_DEPTH, JSONInputError, parse_json

RUN = "/api/extras/jobs/x/run/"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[" * 400 + "]" * 400, "deeper than"),
        ('{"data": {"n": ' + "9" * 5000 + "}}", "64 bits"),
        ('{"data": {"n": NaN}}', "NaN is not valid JSON"),
        ('{"data": {"n": -Infinity}}', "-Infinity is not valid JSON"),
        ('{"data": {"n": 1e999}}', "too large"),
        ('{"data": ', "not valid JSON"),
    ],
)
def test_a_body_we_do_not_accept_is_a_400_naming_the_problem_before_authentication(
    client, caplog, body, problem
):
    with caplog.at_level(logging.ERROR):
        response = client.post(RUN, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert problem in response.get_json()["error"]["fields"]["body"][0]
    assert not [record for record in caplog.records if record.exc_info]


def test_strings_holding_brackets_do_not_count_as_nesting():
    brackets = "[" * (MAX_DEPTH * 2)
    assert parse_json('{"text": "' + brackets + '\\" {"}') == {"text": brackets + '" {'}


def test_ordinary_numbers_are_kept():
    assert parse_json('{"a": 9223372036854775807, "b": -1.5e10, "c": null}') == {
        "a": 2**63 - 1, "b": -1.5e10, "c": None}
    with pytest.raises(JSONInputError):
        parse_json("9223372036854775808")



def test_a_body_over_input_max_bytes_is_a_400_naming_the_setting(client, runtime):
    runtime.settings = runtime.settings.replace(input_max_bytes=1000)
    body = '{"data": {"text": "' + "x" * 2000 + '"}}'
    response = client.post(RUN, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "input_max_bytes" in response.get_json()["error"]["fields"]["body"][0]
