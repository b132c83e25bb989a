# The two commands the README opens with.
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: demo test lint install web-check wheel docs

## Run the platform on embedded defaults and play a generated demo track.
demo:
	bash scripts/install.sh
	$(VENV)/bin/veza up --demo

## Install, make sure PostgreSQL/RabbitMQ/Redis run, and run the whole suite (the web app's
## checks first, when Node is present).
test:
	bash scripts/install.sh test
	bash scripts/services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory web-check
	$(MAKE) --no-print-directory docs
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

## The web app's type check, lint and component tests (scripts/install.sh installed and built it).
web-check:
	@if command -v npm >/dev/null 2>&1; then \
	  cd web && npx tsc -b && npx eslint . && npx vitest run; \
	else echo "Node (npm) not found: the web app's checks are skipped"; fi

## The documentation site (docs/) into .site/; --strict fails on a broken link or anchor and on a
## page left out of the nav. Nothing is fetched from the network.
docs:
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir .site

## A wheel that carries the built web app (api/webapp/, the package's default when no web/dist).
wheel:
	bash scripts/install.sh
	test -f web/dist/index.html
	rm -rf api/webapp && cp -r web/dist api/webapp && rm -f api/webapp/.veza-built
	$(VENV)/bin/python -m pip wheel --no-deps -w . . ; \
	  status=$$?; rm -rf api/webapp build; exit $$status

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
