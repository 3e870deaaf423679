#!/bin/sh
# Install what building, running and testing mnemic needs on Debian 12,
# skipping what is already there.  Uses sudo when not root.
set -eu

PACKAGES="build-essential clang libclang-rt-14-dev
postgresql-15 postgresql-server-dev-15 libpq-dev
libcivetweb-dev libssl-dev openssl
python3 python3-dev python3-pip python3-setuptools python3-wheel python3-venv
python3-pytest python3-psutil python3-psycopg2
chromium
libipc-run-perl"

# postgresql-15 brings its contrib modules: a coordinator's postgres_fdw
# and dblink (README, "Beyond one machine").
# libssl-dev: CivetWeb opens "libssl.so" and "libcrypto.so" at run time for
# mnemic-web --tls-cert; openssl makes the web tests' throw-away certificate.

# Node.js and npm may come from outside Debian (a nodejs package that
# bundles npm conflicts with Debian's npm): ask for them only when missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	PACKAGES="$PACKAGES nodejs npm"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
