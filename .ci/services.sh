#!/usr/bin/env bash
# Sourced by the CI script: make sure PostgreSQL and MariaDB are up, create the test databases and
# export DATABASE_URL / MYSQL_URL for the sink tests (test/sinks). Idempotent.
_spy_wait() { # name, command
  for _ in $(seq 1 60); do eval "$2" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "services.sh: $1 did not come up" >&2; return 1
}
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
_spy_wait PostgreSQL "pg_isready -h 127.0.0.1 -p 5432" || return 1 2>/dev/null || exit 1
if ! mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql || true
fi
_spy_wait MariaDB "mysqladmin -h 127.0.0.1 -P 3306 -uroot ping" || return 1 2>/dev/null || exit 1
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'spy_test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE spy_test" >/dev/null
mysql -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS spy_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/spy_test
export MYSQL_URL=mysql://root@127.0.0.1:3306/spy_test
