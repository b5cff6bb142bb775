# Two commands from a fresh clone: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.darkroom-installed
# Pinned so pip never pulls an unpinned multi-GB CUDA build; on a machine without
# CUDA this resolves to the CPU wheel.
TORCH  ?= torch==2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: demo test test-tools setup clean

setup: $(STAMP)

# open-clip-torch only serves a test that compares our CLIP token ids with open_clip's;
# --no-deps keeps it from pulling torchvision (a multi-GB CUDA build).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps "open-clip-torch==3.3.0"
	touch $@

demo: $(STAMP)
	$(PY) -m darkroom generate "a large red circle on the left, blue background" --seed 42 -o out

# What only the tests need, from Debian: readers for the interop tests (exempi = Adobe's XMP
# Toolkit, exiftool, faketime) and Chromium for the web studio's browser tests (Playwright's own
# browser download is not used). Installed with apt when missing (root); otherwise it says what to install.
TEST_DEBS := libexempi8 exempi libimage-exiftool-perl faketime chromium
test-tools:
	@{ ldconfig -p | grep -q libexempi.so && command -v exiftool && command -v faketime && command -v chromium; } \
	  >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_DEBS); } || \
	  { echo "the tests need Debian packages: sudo apt-get install $(TEST_DEBS)"; exit 1; }

# Two pytest workers (pytest-xdist), one torch thread each; a test file stays on one worker, so its
# module fixtures are built once. TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 2
test: $(STAMP) test-tools
	$(VENV)/bin/lint-imports --no-cache
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf out .pytest_cache
