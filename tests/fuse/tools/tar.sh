bash "$TOOLS/make_tree.sh" "$ROOT/src"
tar -C "$ROOT" -cf "$ROOT/src.tar" src
tar -C "$MNT" -xf "$ROOT/src.tar"
diff -r --no-dereference "$ROOT/src" "$MNT/src"
test "$(stat -c %a "$MNT/src/a/file3.txt")" = 600
test "$(stat -c %h "$MNT/src/d/hard")" = 2
