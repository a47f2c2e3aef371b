# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
# `make demo` installs the core only (what `bench run` needs by default); `make test` adds every
# extra. compressai 1.2.6 is an sdist: pip's isolated build of it would first install an unpinned
# torch and the whole CUDA stack into a throw-away environment, so it is built once, without
# isolation, against the torch already in the venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
CORE   := $(VENV)/.installed-core
FULL   := $(VENV)/.installed-all

# The shared offline weights and datasets of this workplace, when they exist beside the checkout.
SHARED := $(abspath ../shared)
ifneq ($(wildcard $(SHARED)/weights/torch),)
  export TORCH_HOME ?= $(SHARED)/weights/torch
endif
ifneq ($(wildcard $(SHARED)/datasets),)
  export BENCH_DATA_DIR ?= $(SHARED)/datasets
endif

.PHONY: demo test test-fast lint gate baseline install install-all clean

$(CORE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(FULL): $(CORE) pyproject.toml
	$(PIP) install "setuptools>=77" wheel pybind11
	$(PIP) install --no-build-isolation -e ".[all]"
	touch $@

install: $(CORE)
install-all: $(FULL)

demo: $(CORE)
	$(BIN)/bench run --out out/demo --plots
	@echo "demo outputs: $(abspath out/demo) (leaderboard.md, leaderboard.csv, rd_*.png/pdf, bench.sqlite)"

lint: $(FULL)
	$(BIN)/ruff check bench tests scripts

# pytest exits 5 when it collects nothing: make treats that as a failure, as it should.
test: $(FULL)
	$(BIN)/ruff check bench tests scripts
	$(BIN)/python -m pytest -q

# The tier a developer runs while working: everything not marked `slow` (CI runs both tiers).
test-fast: $(FULL)
	$(BIN)/ruff check bench tests scripts
	$(BIN)/python -m pytest -q -m "not slow"

# The regression gate: rerun the CI benchmark and compare it with the committed baseline
# (exit 0 within tolerance, 1 regression, 2 unusable input). `make baseline` refreshes the
# baseline deliberately: review `git diff results/ci-baseline` before committing it.
GATE_RUN := --dataset skimage --codec jpeg --codec jpeg2000 --codec webp --metric psnr --metric ms-ssim --metric lpips
gate: $(CORE)
	rm -rf out/gate
	mkdir -p out && $(BIN)/bench run $(GATE_RUN) --out out/gate --no-progress --allow-skips > out/gate.log
	$(BIN)/bench compare results/ci-baseline out/gate --markdown out/gate/compare.md --junit out/gate/junit.xml \
	    --json out/gate/compare.json

baseline: $(CORE)
	rm -rf out/baseline
	$(BIN)/bench run $(GATE_RUN) --out out/baseline --no-progress
	mkdir -p results/ci-baseline
	$(BIN)/bench export out/baseline --format csv --out results/ci-baseline/records.csv
	cp out/baseline/manifest.json out/baseline/leaderboard.md results/ci-baseline/

clean:
	rm -rf out bench-out .pytest_cache
