cd "$MNT" && git init -q repo && cd repo
git config user.email t@example.com && git config user.name t
for i in $(seq 1 50); do echo "content $i" > f$i; done
mkdir sub && echo nested > sub/n
git add -A && git commit -qm first
echo change >> f1 && git commit -qam second
git mv f2 sub/f2 && git commit -qm rename
git fsck --full --strict
test "$(git log --oneline | wc -l)" = 3
test -z "$(git status --porcelain)"
