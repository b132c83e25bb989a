# The two commands the README opens with.
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: demo test lint install

## Run the platform on embedded defaults and play a generated demo track.
demo:
	bash scripts/install.sh
	$(VENV)/bin/veza up --demo

## Install, make sure PostgreSQL/RabbitMQ/Redis run, and run the whole suite.
test:
	bash scripts/install.sh test
	bash scripts/services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
