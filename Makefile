# mnemic: build, install, test and benchmark everything.
#
#   make run      set up this machine and bring up the whole stack locally
#   make check    set up this machine, build, and run every test suite
#   make bench    print the benchmark figures (not a pass/fail test)
#   make fuzz     fuzz the datagram decoder and the profile format scanners
#                 for FUZZ_SECONDS each (default 300)
#   make install  install the extension into the PostgreSQL of pg_config

PG_CONFIG ?= pg_config
PYTHON ?= /usr/bin/python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZ_SECONDS ?= 300
export PG_CONFIG PYTHON

.PHONY: all extension web dolon install deps check check-decoder check-formats check-sql \
	check-docs check-e2e check-dolon check-web bench bench-ingest bench-series \
	bench-profiles bench-profile-import bench-cluster \
	bench-dolon bench-web fuzz run stop clean

all: extension web dolon

extension:
	$(MAKE) -f pg_mnemic.mk

web:
	$(MAKE) -C web

dolon:
	$(MAKE) -C dolon

install: extension
	$(SUDO) $(MAKE) -f pg_mnemic.mk install

deps:
	scripts/install-deps.sh

# Every suite runs even when an earlier one fails; the summary says which.
SUITES = check-decoder check-formats check-sql check-docs check-e2e check-dolon check-web
check: deps
	$(MAKE) all
	$(MAKE) install
	@rm -rf build/check && mkdir -p build/check
	@for s in $(SUITES); do \
		echo "=== $$s"; \
		if $(MAKE) --no-print-directory $$s; then echo pass > build/check/$$s; \
		else echo FAIL > build/check/$$s; fi; \
	done
	@scripts/check-summary.sh build/check $(SUITES)

check-decoder:
	$(MAKE) -C regress/decoder check

check-formats:
	$(MAKE) -C regress/formats check

check-sql:
	$(PYTHON) regress/run_pg_regress.py

check-docs:
	$(PYTHON) regress/check_docs.py

check-e2e:
	$(PYTHON) -m pytest -q -p no:cacheprovider regress/e2e

check-dolon:
	$(MAKE) -C dolon check

check-web:
	$(MAKE) -C web check

bench: deps
	$(MAKE) all
	$(MAKE) install
	$(MAKE) bench-ingest bench-series bench-profiles bench-profile-import \
		bench-cluster bench-dolon bench-web

bench-ingest:
	$(PYTHON) bench/ingest.py

bench-series:
	$(PYTHON) bench/series.py

bench-profiles:
	$(PYTHON) bench/profiles.py

bench-profile-import:
	$(PYTHON) bench/profile_import.py

bench-cluster:
	$(PYTHON) bench/cluster.py

bench-dolon:
	$(MAKE) -C dolon bench

bench-web:
	$(MAKE) -C web bench

fuzz:
	$(MAKE) -C regress/decoder fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) -C regress/formats fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

run:
	scripts/run.sh

stop:
	scripts/stop.sh

clean:
	$(MAKE) -f pg_mnemic.mk clean
	-$(MAKE) -C regress/decoder clean
	-$(MAKE) -C regress/formats clean
	-$(MAKE) -C web clean
	-$(MAKE) -C dolon clean
	rm -rf build
