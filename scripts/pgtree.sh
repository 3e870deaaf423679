#!/bin/sh
# Make a private copy of the machine's PostgreSQL under DIR, so that several
# checkouts can build, install and test pg_mnemic side by side without
# installing over each other's library.
#
#   scripts/pgtree.sh DIR            copy (once) and print the PATH to use
#   eval "$(scripts/pgtree.sh DIR)"  then make install / make check use DIR
#
# PostgreSQL finds its share and library folders relative to its own
# executable, and so does its pg_config: with DIR's bin folder first on
# PATH, PGXS installs into DIR and the tests start DIR's server.
set -eu

dir=${1:?usage: scripts/pgtree.sh DIR}
bindir=$(pg_config --bindir)
sharedir=$(pg_config --sharedir)
libdir=$(pg_config --pkglibdir)
incdir=$(pg_config --includedir)

if [ ! -x "$dir$bindir/postgres" ]; then
	for d in "$bindir" "$sharedir" "$libdir" "$incdir"; do
		mkdir -p "$dir$(dirname "$d")"
		cp -a "$d" "$dir$(dirname "$d")/"
	done
	chmod -R a+rX "$dir"
fi
# Every folder above the tree must be enterable by the postgres user.
d=$(cd "$dir" && pwd)
while [ "$d" != / ]; do chmod a+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
echo "export PATH=\"$(cd "$dir" && pwd)$bindir:\$PATH\""
