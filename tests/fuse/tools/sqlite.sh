cd "$MNT"
{
  echo "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
  echo "BEGIN;"
  for i in $(seq 1 10000); do echo "INSERT INTO t (v) VALUES ('row $i');"; done
  echo "COMMIT;"
} | sqlite3 db.sqlite
test "$(sqlite3 db.sqlite 'SELECT count(*) FROM t')" = 10000
test "$(sqlite3 db.sqlite 'PRAGMA integrity_check')" = ok
