# pg_mnemic.mk: the PostgreSQL extension, built with PGXS.
# Called by the top-level Makefile (make, make install); usable alone:
#   make -f pg_mnemic.mk && sudo make -f pg_mnemic.mk install

EXTENSION = pg_mnemic
MODULE_big = pg_mnemic
EXT_VERSION = 0.2

# Every C file of the extension proper and of the in-database listener.
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard pg_mnemic/*.c listener/*.c)))

# The install script is schema.sql, the other parts by name, then roles.sql
# (grants need every function to exist).
SQL_PARTS = sql/schema.sql $(filter-out sql/schema.sql sql/roles.sql sql/$(EXTENSION)--%,$(sort $(wildcard sql/*.sql))) $(wildcard sql/roles.sql)
DATA_built = sql/$(EXTENSION)--$(EXT_VERSION).sql
# Released versions' install scripts, kept as they were released, and the
# upgrade steps between versions (ALTER EXTENSION pg_mnemic UPDATE).
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

PG_CPPFLAGS = -I$(CURDIR) -I$(shell $(PG_CONFIG) --includedir) \
	-DMNEMIC_EXT_VERSION='"$(EXT_VERSION)"'
PG_CFLAGS = -Wall -Wmissing-prototypes -Werror=implicit-function-declaration
# zlib: gzipped profiles in and out (PostgreSQL itself links it).
# libpq: a coordinator parses node connection strings as libpq does.
SHLIB_LINK = -lz -lpq
EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild every object when a header
# changes (a struct in shared memory must be the same in every object).
$(OBJS): $(wildcard listener/*.h pg_mnemic/*.h)

sql/$(EXTENSION)--$(EXT_VERSION).sql: $(SQL_PARTS)
	cat $^ > $@
