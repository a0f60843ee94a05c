#!/usr/bin/env bash
# Every tool's --help example runs as written: the lines under "example:" of
# each --help, in the order a new user would try them (an archive, a model
# store, the tracker, the batching queue, the autoscaler, the demo), in one
# scratch folder with the built tools on PATH, the repository's examples/ as
# ./examples and the few input files the examples name (handler.py, model.pt,
# arrivals.csv). Every one must succeed (exit 0).
# usage: run.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
path=$PATH
for d in "$build"/examples/*/; do path="$d:$path"; done
export PATH=$path
cd "$work"
ln -s "$src/examples" examples
printf 'def handle(data, context):\n    return data\n' > handler.py
printf 'weights' > model.pt
printf 'time_us,items\n0,1\n1500,2\n4000,1\n9000,3\n' > arrivals.csv
fail=0 ran=0
for tool in mserve-archive mserve-registry mserve-tracker mserve-batch mserve-autoscale mserve-demo; do
  help=$("$tool" --help) || { echo "FAIL: $tool --help exits $?"; fail=1; continue; }
  # the example block: indented lines after "example:", "\" continuations joined
  cmds=$(printf '%s\n' "$help" | awk '/^example:/ {on=1; next} on && /^  / {sub(/^  /, ""); print; next} on {exit}' |
         sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta')
  [ -n "$cmds" ] || { echo "FAIL: $tool --help has no example"; fail=1; continue; }
  while IFS= read -r cmd; do
    [ -n "$cmd" ] || continue
    bash -c "$cmd" >out.txt 2>err.txt
    rc=$?
    ran=$((ran + 1))
    if [ "$rc" -ne 0 ]; then
      echo "FAIL: $tool's example exits $rc: $cmd"; sed 's/^/  | /' err.txt | tail -n 5; fail=1
    else
      echo "ok ($rc): $cmd"
    fi
  done <<< "$cmds"
done
[ "$fail" -eq 0 ] || exit 1
echo "help examples: $ran commands ran"
