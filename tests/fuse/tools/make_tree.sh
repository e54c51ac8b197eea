# A small source tree at $1: nested directories, text and binary files, an
# empty file, a symlink, a hard link, odd modes.
mkdir -p "$1" && cd "$1"
for d in a a/b a/b/c d e; do mkdir -p $d; done
for i in $(seq 1 60); do echo "line $i of file $i" > a/file$i.txt; done
for i in $(seq 1 20); do head -c $((i * 3000)) /dev/urandom > a/b/blob$i; done
: > e/empty
ln -s ../a/file1.txt d/link
ln a/file2.txt d/hard
chmod 0600 a/file3.txt
chmod 0755 a/b/c
