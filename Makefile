# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= all
STAMP  := $(VENV)/.installed-$(EXTRAS)

# The shared offline weights and datasets of this workplace, when they exist beside the checkout.
SHARED := $(abspath ../shared)
ifneq ($(wildcard $(SHARED)/weights/torch),)
  export TORCH_HOME ?= $(SHARED)/weights/torch
endif
ifneq ($(wildcard $(SHARED)/datasets),)
  export BENCH_DATA_DIR ?= $(SHARED)/datasets
endif

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/bench run --out out/demo
	@echo "demo outputs: $(abspath out/demo) (leaderboard.md, leaderboard.csv, rd_*.png/pdf, bench.sqlite)"

# pytest exits 5 when it collects nothing: make treats that as a failure, as it should.
test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf out bench-out .pytest_cache
