#!/usr/bin/env bash
# Fails when a tracked C/C++ source differs from clang-format's output (.clang-format, Debian's
# clang-format 14). Fix with: git ls-files '*.cc' '*.h' '*.c' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cc' '*.h' '*.c')
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: ${#bad[@]} file(s) not clang-formatted:"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check-format: all $(git ls-files '*.cc' '*.h' '*.c' | wc -l) sources formatted"
