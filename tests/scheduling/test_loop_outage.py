"""The scheduler rides out an outage: one log line, no traceback per tick, and it keeps ticking."""

import logging

from service import bootstrap
from service.scheduling.loop import Scheduler
from tests.helpers.servers import free_port


def test_a_scheduler_without_its_database_logs_one_line_and_keeps_ticking(settings, caplog):
    down = f"postgresql+psycopg://jobsync@127.0.0.1:{free_port()}/none?connect_timeout=2"
    runtime = bootstrap.configure(settings.replace(database_url=down))
    scheduler = Scheduler(runtime)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert scheduler.tick() == 0
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "database unavailable" in caplog.records[0].getMessage()
    assert not any(record.exc_info for record in caplog.records)
