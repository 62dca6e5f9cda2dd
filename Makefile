# The two commands in the README. Everything else lives in scripts/.
.PHONY: run test
run:
	@scripts/run.sh $(ARGS)
test:
	@scripts/test.sh
