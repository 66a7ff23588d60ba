# Two commands (see README):  make demo   |   make test   (and make notebook: the example)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint install notebook clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nnscratch train

notebook: $(STAMP)
	$(VENV)/bin/jupyter notebook examples/from_scratch.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# the suite on every core this machine gives us (pytest-xdist, -n auto: see tests/conftest.py);
# a test file stays in one worker, so its module fixtures run once
test: lint
	$(VENV)/bin/pytest -q -n auto --dist loadfile

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
