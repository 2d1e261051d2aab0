# Two commands from a fresh clone (README.md):
#   make book   the virtual environment .venv (from requirements.txt, when missing or
#               stale), then the site in _build/html and the whole-book PDF
#   make test   the same environment, then pytest --nbval (unit tests + every notebook)
# Both redo only what changed. Other targets: make site, make pdf, make check-site
# (the browser test), make venv, make clean.
# Options: PYTHON=python3.12 (the interpreter that creates .venv), CPU=1 (PyTorch's
# CPU-only wheels: no CUDA libraries, for machines without an NVIDIA GPU).

PYTHON ?= python3
VENV ?= .venv
CPU ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-requirements
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
SITE := _build/html
PDF := $(SITE)/feedforward-networks-pytorch.pdf
# What the site is built from: a change to any of these rebuilds it.
SOURCES := _config.yml _toc.yml $(wildcard book/*.md book/_ext/* book/_ext/*/* book/_static/*) \
           $(wildcard notebooks/[0-9]*.ipynb)

.PHONY: book test site pdf check-site venv clean python-version
.DELETE_ON_ERROR:

book: $(PDF)
	@echo "make book: the site is in $(SITE)/ (open $(SITE)/index.html), the PDF is $(PDF)"

test: $(STAMP)
	$(BIN)/pytest --nbval

site: $(SITE)/.built

pdf: $(PDF)

venv: $(STAMP)

python-version:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null || { \
	  echo "make: the book needs Python 3.10 or newer (PyTorch 2.14 does); '$(PYTHON)' is" \
	       "$$($(PYTHON) --version 2>&1 || echo 'not found')." >&2; \
	  echo "      Run e.g. 'make book PYTHON=python3.11' with a newer Python." >&2; exit 1; }

# The environment is (re)made when requirements.txt or pyproject.toml is newer than it.
$(STAMP): requirements.txt pyproject.toml | python-version
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then \
	  echo "make: $(VENV) has an old Python; remove it (rm -rf $(VENV)) and run make again" >&2; exit 1; fi
	@[ -x $(BIN)/python ] || { echo "make: creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(CPU)" ]; then \
	  torch=$$(grep -E '^torch==' requirements.txt); vision=$$(grep -E '^torchvision==' requirements.txt); \
	  echo "make: $$torch and $$vision, CPU-only wheels"; \
	  $(BIN)/python -m pip install --quiet "$$torch" "$$vision" --index-url $(TORCH_CPU_INDEX); fi
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(SITE)/.built: $(STAMP) $(SOURCES)
	@command -v node >/dev/null || command -v nodejs >/dev/null || echo "make: no Node.js, so the" \
	  "pages load MathJax (1.2 MB) to typeset the math; install Node.js (Debian: apt-get install nodejs)" \
	  "to typeset it at build time"
	$(BIN)/jupyter-book build . -W -n --keep-going
	@touch $@

$(PDF): $(SITE)/.built
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$CHROMIUM" ] || { \
	  echo "make: the PDF is printed by Chromium, which is missing: 'sudo apt-get install chromium'" \
	       "(or set CHROMIUM=/path/to/chrome). The site is built: $(SITE)/index.html" >&2; exit 1; }
	$(BIN)/python .ci/book_pdf.py

check-site: $(PDF)
	. $(BIN)/activate && bash .ci/browser-test

clean:
	rm -rf _build
