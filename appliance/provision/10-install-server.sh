#!/bin/sh
# Installs the built key server under $KEYHAVEN_PREFIX (root-owned, read-only to the service), the
# `keyhaven` command, the keyhaven system account and its data directory, and the server's
# configuration. Runs as root in the image (a chroot in the pipeline, a VM under Packer).
set -eu
: "${KEYHAVEN_VERSION:?}" "${KEYHAVEN_TARBALL:?}" "${KEYHAVEN_PREFIX:?}"

rm -rf "$KEYHAVEN_PREFIX"
install -d -m 0755 -o root -g root "$KEYHAVEN_PREFIX"
tar -xzf "$KEYHAVEN_TARBALL" -C "$KEYHAVEN_PREFIX" --strip-components=1 --no-same-owner --no-same-permissions
chown -R root:root "$KEYHAVEN_PREFIX"
chmod -R u+rwX,go+rX,go-w "$KEYHAVEN_PREFIX"
rm -f "$KEYHAVEN_TARBALL"

installed=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$KEYHAVEN_PREFIX/package.json")
[ "$installed" = "$KEYHAVEN_VERSION" ] || { echo "10-install-server: tarball is version '$installed', expected $KEYHAVEN_VERSION" >&2; exit 1; }

cat > /usr/local/bin/keyhaven <<WRAPPER
#!/bin/sh
exec /usr/bin/node $KEYHAVEN_PREFIX/appliance/bin/keyhaven.js "\$@"
WRAPPER
chmod 0755 /usr/local/bin/keyhaven

getent group keyhaven >/dev/null || groupadd --system keyhaven
getent passwd keyhaven >/dev/null || useradd --system --gid keyhaven --home-dir /var/lib/keyhaven --no-create-home --shell /usr/sbin/nologin --comment 'Keyhaven key server' keyhaven
install -d -m 0700 -o keyhaven -g keyhaven /var/lib/keyhaven
# The rollback anchor (server/store/anchor.ts), apart from the data directory it vouches for.
install -d -m 0700 -o keyhaven -g keyhaven /var/lib/keyhaven-anchor
install -d -m 0755 -o root -g root /etc/keyhaven /usr/lib/keyhaven

# The key server's configuration (appliance/boot/server-config.ts): data in /var/lib/keyhaven, KMIP on
# 6000 on every address (the firewall decides who reaches it). keyhaven-configure.service rewrites it
# from the settings at every boot (audit forwarding once a SIEM host is set).
/usr/local/bin/keyhaven appliance server-config > /etc/keyhaven/keyhaven.json
chmod 0644 /etc/keyhaven/keyhaven.json
echo "$KEYHAVEN_VERSION" > /usr/lib/keyhaven/version

# The image's Node.js must load the native module built for it (same ABI), and the CLI must start.
/usr/bin/node -e "const r=require('module').createRequire('$KEYHAVEN_PREFIX/package.json'); new (r('better-sqlite3'))(':memory:').close()"
/usr/local/bin/keyhaven firewall render >/dev/null
