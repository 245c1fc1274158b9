"""The OpenAPI document, the local docs page, and a property-based run against the document."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from service.models import JobOutputFile
from tests.api.test_access import OPERATIONS
from tests.helpers.api import HELLO_VARIABLES, add_button, add_hook, add_log
from tests.helpers.factories import make_job, make_result

#: Examples per operation: enough to find shapes the document does not describe, quick to run.
EXAMPLES = 8


def test_the_docs_page_and_its_assets_are_served_locally_without_any_cdn(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"jobsync API" in page.data
    assets = re.findall(rb'(?:src|href)="(static/[^"]+)"', page.data)
    assert {asset.decode() for asset in assets} == {"static/docs.js", "static/docs.css"}
    for asset in assets:
        served = client.get(f"/api/docs/{asset.decode()}")
        assert served.status_code == 200
        assert not re.search(rb"https?://", served.data), asset
    assert not re.search(rb"https?://", page.data)


def test_the_docs_page_runs_only_its_own_script_under_a_content_security_policy(client):
    policy = client.get("/api/docs/").headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_the_openapi_document_describes_token_authentication(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert spec["security"] == [{"tokenAuth": []}]


def references(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_every_reference_in_the_openapi_document_resolves(client):
    # schemathesis skips validating a response whose schema it cannot resolve: make sure none is.
    spec = client.get("/api/openapi.json").get_json()
    for reference in set(references(spec)):
        node = spec
        for part in reference.removeprefix("#/").split("/"):
            assert part in node, reference
            node = node[part]


@pytest.fixture
def api_schema(app, runtime, make_caller):
    """The live document, with a superuser's token and a few rows for the generated calls to meet."""
    caller = make_caller(superuser=True)
    with runtime.db.session() as session:
        job = make_job(
            session, variables=HELLO_VARIABLES, is_job_hook_receiver=True, is_job_button_receiver=True
        )
        result = make_result(session, job)
        add_log(session, result)
        add_hook(session, job)
        add_button(session, job)
        session.add(JobOutputFile(job_result_id=result.id, name="out.txt", content=b"x", size=1))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.headers = caller.headers  # every generated call is authenticated
    return schema


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


# One test per operation (schemathesis' own pytest plugin does not run on this pytest version).
@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_generated_calls_meet_no_server_error_and_no_response_outside_the_document(api_schema, method, path):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
