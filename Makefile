# aigate: the two commands for a fresh machine are `make demo` and `make test`.
PYTHON ?= python3
PYTEST_ARGS ?=
# Every test under tests/: the fast unit tests first (quick feedback), then the end-to-end tier, and last
# the packaging tier (tests/dist: it installs `make dist`'s .deb files with dpkg, in a private mount
# namespace, so it never overlaps the other tiers).
TEST_DIRS := tests/unit $(filter-out tests/unit tests/e2e tests/dist tests/support tests/__pycache__,$(patsubst %/,%,$(sort $(wildcard tests/*/)))) tests/e2e tests/dist
# What the artifacts are made of: `make dist` rebuilds only when one of these changed.
DIST_INPUTS := $(shell git ls-files src packaging completions pyproject.toml scripts/dist.sh 2>/dev/null)

.PHONY: help install lint test test-e2e dist demo check-latest-tools clean

help:
	@echo "make demo                the whole product, end to end, with the real claude and codex"
	@echo "make test                install what the tests need, run the linters, then every test under tests/"
	@echo "make lint                ruff on all Python code, mypy (strict) on src/aigate"
	@echo "make test-e2e            only the end-to-end tier (real processes, real tools)"
	@echo "make dist                wheel, sdist, dist/aigate.pyz, and the .deb packages aigate and aigate-server"
	@echo "make check-latest-tools  the vendor-behaviour tests against the newest claude and codex"

install:
	bash scripts/bootstrap.sh

# The rules a machine checks (settings in pyproject.toml): zero findings, or `make test` stops here.
LINT = .venv/bin/ruff check src tests benchmarks scripts harness packaging && .venv/bin/mypy

lint: install
	$(LINT)

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: install
	$(LINT)
	$(MAKE) --no-print-directory dist
	.venv/bin/python -m pytest $(TEST_DIRS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no test" >&2; exit 1; fi; exit $$rc

test-e2e: install
	.venv/bin/python -m pytest tests/e2e $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-e2e: pytest ran no test" >&2; exit 1; fi; exit $$rc

# As root (the .deb build overlays /usr and /opt in a private mount namespace); see scripts/dist.sh.
dist: install dist/.built

dist/.built: $(DIST_INPUTS)
	bash scripts/dist.sh
	@touch $@

demo:
	python3 scripts/demo.py

check-latest-tools:
	bash scripts/check_latest_tools.sh

clean:
	rm -rf .demo .pytest_cache build dist
