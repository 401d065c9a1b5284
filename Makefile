# Two commands: `make demo` (install, then the main job) and `make test` (install, then every test).
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
DATA   ?= ../shared/data
PRESET ?= default

.PHONY: install demo test lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: letting pip choose would pull a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]' torch==2.13.0
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/edgekit build --target android --preset $(PRESET) --out build \
		--tatoeba $(DATA)/tatoeba --sts17 $(DATA)/sts17

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest -q

clean:
	rm -rf build
