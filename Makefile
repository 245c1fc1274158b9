# Entry points for developers and CI (.ci/run runs `make test` on a clean checkout).
.PHONY: test run

# Extra pytest arguments, e.g. make test ARGS="tests/jobs -x"
ARGS ?=

test:
	@bash scripts/test.sh $(ARGS)

run:
	@bash scripts/run.sh
