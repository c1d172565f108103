#!/bin/sh
# scripts/check_file_headers.sh — checks that every C++ and CUDA source file opens with a
# one-line comment saying what it is (`// path — what it is`, or any `// ` line of at least
# three words); prints each file that does not, and fails if there is one. ctest runs it
# (file_headers); run it by hand as `scripts/check_file_headers.sh [repository root]`.
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
bad=0
for f in $(./scripts/source_files.sh .); do
  first=$(head -n 1 "$f")
  if ! printf '%s\n' "$first" | grep -Eq '^// +[^ ]+ +[^ ]+ +[^ ]+'; then
    echo "$f: the first line should be a comment saying what the file is, not: $first"
    bad=$((bad + 1))
  fi
done
if [ "$bad" -ne 0 ]; then
  echo "check_file_headers: $bad file(s) without a one-line 'what it is' comment"
  exit 1
fi
echo "check_file_headers: every source file opens with a 'what it is' comment"
