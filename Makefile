# The two commands that matter: `make demo` and `make test`. Both work on a bare machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the tests talk to: BIND (named, tsig-keygen), nsupdate/dig, SpamAssassin's spamd,
# Postfix (the real sender of tests/mail; debconf "Local only", preseeded) and swaks; Knot DNS
# and PowerDNS with its SQLite backend (the DNS contract suite runs on all three servers).
# Their postinst scripts would start daemons on port 53, where a test's resolver may listen:
# a policy-rc.d that exits 101 (unless one is already there) keeps every service stopped.
SYSTEM_PACKAGES := bind9 bind9-utils bind9-dnsutils spamd spamc postfix swaks \
	knot knot-dnsutils pdns-server pdns-backend-sqlite3
SYSTEM_COMMANDS := named tsig-keygen nsupdate dig spamd spamc postfix swaks \
	knotd knotc kdig pdns_server pdnsutil

.PHONY: demo test lint typecheck pytest system-deps bench soak clean sandbox

$(BIN)/eipkeeper: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: $(BIN)/eipkeeper
	$(BIN)/eipkeeper demo

# The sandbox for trying commands by hand, until Ctrl-C. Its export lines also go to
# sandbox.env, after a PATH line for .venv/bin, so that `. ./sandbox.env` in another shell is
# all a newcomer types. SANDBOX_ARGS passes options on: make sandbox SANDBOX_ARGS='--port 5001'
SANDBOX_ARGS ?=
sandbox: SHELL := /bin/bash
sandbox: .SHELLFLAGS := -o pipefail -c
sandbox: $(BIN)/eipkeeper
	@printf 'export PATH=%s:"$$PATH"\n' '$(CURDIR)/$(BIN)' > sandbox.env
	@PYTHONUNBUFFERED=1 $(BIN)/eipkeeper sandbox $(SANDBOX_ARGS) | \
	  while IFS= read -r line; do printf '%s\n' "$$line"; \
	    case "$$line" in "export "*) printf '%s\n' "$$line" >> sandbox.env;; esac; done

test: system-deps $(BIN)/eipkeeper lint typecheck pytest

system-deps:
	@missing=""; for c in $(SYSTEM_COMMANDS); do \
	  command -v $$c >/dev/null 2>&1 || [ -x /usr/sbin/$$c ] || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages for:$$missing"; \
	    echo 'postfix postfix/main_mailer_type select Local only' | debconf-set-selections && \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    if [ -e /usr/sbin/policy-rc.d ]; then own_policy=""; else own_policy=1; \
	      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	    rc=$$?; if [ -n "$$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; [ $$rc = 0 ] || exit $$rc; \
	  else \
	    echo "missing:$$missing -- run as root: apt-get install $(SYSTEM_PACKAGES)"; exit 1; \
	  fi; \
	fi

lint: $(BIN)/eipkeeper
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/purecore.py
	$(BIN)/cfn-lint contrib/cloudformation/*.yaml

typecheck: $(BIN)/eipkeeper
	$(BIN)/mypy

pytest: $(BIN)/eipkeeper
	PATH="$$PATH:/usr/sbin" $(BIN)/pytest -n 2

# The model test's long profile (10,000 steps or more; not part of `make test`): one JSON line
# at the end. SOAK_ARGS="--seed N" replays a seed.
soak: $(BIN)/eipkeeper system-deps
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m tests.model.soak $(SOAK_ARGS)

bench: $(BIN)/eipkeeper system-deps
	@missed=""; for b in bench/*.py; do \
	  PATH="$$PATH:/usr/sbin" $(BIN)/python $$b || missed="$$missed $$b"; \
	done; if [ -n "$$missed" ]; then echo "bars missed in:$$missed"; exit 1; fi

clean:
	rm -rf $(VENV) build src/*.egg-info .mypy_cache .pytest_cache .ruff_cache
