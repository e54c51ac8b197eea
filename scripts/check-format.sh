#!/usr/bin/env bash
# Fails if any tracked C++ file differs from what clang-format (.clang-format)
# would write. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
[ ${#files[@]} -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}"; then
  echo "format: files above are not clang-formatted; run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "format: ok (${#files[@]} files)"
