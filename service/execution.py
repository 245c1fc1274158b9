"""Turn a JobResult into a run (claim, load, lifecycle, record). Filled in by the jobs issue."""


def run_job_result(job_result_id: str) -> None:
    raise NotImplementedError
