from repos.report import DiscoveredJob, DiscoveryReport, ModuleError


def test_a_report_survives_its_json_form():
    report = DiscoveryReport(
        namespace="demo",
        jobs=[DiscoveredJob("demo.jobs.hello", "Hello", {"name": "Hello", "variables": []})],
        module_errors=[ModuleError("demo.jobs.broken", "SyntaxError: invalid syntax", "Traceback ...")],
    )
    assert DiscoveryReport.from_dict(report.to_dict()) == report


def test_failed_modules_include_the_jobs_package_when_it_failed_as_a_whole():
    report = DiscoveryReport(namespace="demo", package_error="jobs/__init__.py failed: KeyError: 'x'")
    assert report.failed_modules == {"demo.jobs"}
    assert DiscoveryReport(namespace="demo").failed_modules == set()
