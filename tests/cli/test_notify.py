"""``jobsync notify``: add, list, delete rules; bad input is one line and exit 2."""

from click.testing import CliRunner

from service.cli import main

SLACK = "https://hooks.slack.com/services/T0/B0/cli-secret-token"


def test_rules_are_added_listed_without_chat_urls_and_deleted(cli_env, runtime):
    cli = CliRunner(env=cli_env)
    added = cli.invoke(main, ["notify", "add", "ops", "--event", "run_failed", "--event", "sync_failed",
                              "--channel", "slack", "--target", SLACK])
    assert added.exit_code == 0, added.output
    listed = cli.invoke(main, ["notify", "list", "--json"])
    assert listed.exit_code == 0 and '"run_failed,sync_failed"' in listed.output
    assert "cli-secret-token" not in listed.output and "hooks.slack.com" in listed.output
    assert cli.invoke(main, ["notify", "delete", "ops"]).exit_code == 0
    assert cli.invoke(main, ["notify", "delete", "ops"]).exit_code == 1


def test_a_bad_target_is_refused_naming_it(cli_env, runtime):
    refused = CliRunner(env=cli_env).invoke(main, ["notify", "add", "x", "--event", "run_failed",
                                                   "--channel", "webhook", "--target", "not-a-url"])
    assert refused.exit_code == 2 and "target" in refused.output
