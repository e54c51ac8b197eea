# Real tools across three mounts of one cluster: what one node does, the
# others see at once. MNT_A, MNT_B, MNT_C are the mounts; ROOT is scratch
# space on the local disk; TOOLS holds tests/fuse/tools.
cd "$MNT_A" && git init -q repo && cd repo
git config user.email t@example.com && git config user.name t
for i in $(seq 1 30); do echo "content $i" > f$i; done
git add -A && git commit -qm first
echo change >> f1 && git commit -qam second
cd "$MNT_B/repo"
git fsck --full --strict
test "$(git log --oneline | wc -l)" = 2
echo more >> f2 && git commit -qam third
test "$(git -C "$MNT_C/repo" log --oneline | wc -l)" = 3

bash "$TOOLS/make_tree.sh" "$ROOT/src"
tar -C "$ROOT" -cf "$ROOT/src.tar" src
tar -C "$MNT_B" -xf "$ROOT/src.tar"
diff -r --no-dereference "$ROOT/src" "$MNT_C/src"

rsync -a "$ROOT/src/" "$MNT_C/rs/"
cp -a "$MNT_A/rs" "$ROOT/back"
diff -r --no-dereference "$ROOT/src" "$ROOT/back"

cd "$MNT_C"
{
  echo "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
  echo "BEGIN;"
  for i in $(seq 1 10000); do echo "INSERT INTO t (v) VALUES ('row $i');"; done
  echo "COMMIT;"
} | sqlite3 db.sqlite
test "$(sqlite3 "$MNT_A/db.sqlite" 'SELECT count(*) FROM t')" = 10000
test "$(sqlite3 "$MNT_B/db.sqlite" 'PRAGMA integrity_check')" = ok
