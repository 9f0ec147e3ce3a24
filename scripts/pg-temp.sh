# Sourced by scripts/test: start a throw-away PostgreSQL on a loopback port, as an
# unprivileged user when run as root (initdb refuses root), and export TEST_DATABASE_URL.
pg_temp_start() {
  local port=${PG_TEMP_PORT:-54329}
  # Another PostgreSQL (a second checkout's tests, a developer's server) may hold the port:
  # take a free one rather than fail.
  if [ -z "${PG_TEMP_PORT:-}" ] && ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" 2>/dev/null; then
    port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  fi
  PG_TEMP_DIR=$(mktemp -d /tmp/pgtest.XXXXXX)
  PG_RUN_AS=()
  if [ "$(id -u)" = 0 ]; then
    id -u pgtest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin pgtest
    chown pgtest "$PG_TEMP_DIR"
    PG_RUN_AS=(runuser -u pgtest --)
  fi
  if ! "${PG_RUN_AS[@]}" initdb -D "$PG_TEMP_DIR/data" -U postgres --auth=trust >"$PG_TEMP_DIR/initdb.log" 2>&1; then
    echo "warning: initdb failed (see $PG_TEMP_DIR/initdb.log); PostgreSQL tests will be skipped" >&2
    return 1
  fi
  if ! "${PG_RUN_AS[@]}" pg_ctl -D "$PG_TEMP_DIR/data" -l "$PG_TEMP_DIR/server.log" -w \
      -o "-p $port -k $PG_TEMP_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
    echo "warning: PostgreSQL did not start (see $PG_TEMP_DIR/server.log); PostgreSQL tests will be skipped" >&2
    return 1
  fi
  export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  pg_cleanup() { "${PG_RUN_AS[@]}" pg_ctl -D "$PG_TEMP_DIR/data" -m immediate stop >/dev/null 2>&1; rm -rf "$PG_TEMP_DIR"; }
  echo "PostgreSQL for tests on 127.0.0.1:$port" >&2
}
