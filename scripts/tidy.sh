#!/usr/bin/env bash
# Runs go mod tidy in every module of the workspace (go.work). go mod tidy
# ignores go.work, and the modules require each other at a placeholder
# version that no proxy serves, so each is tidied with temporary replace
# directives pointing at this checkout, which are dropped afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mapfile -t mods < <(go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p')
declare -A path
for d in "${mods[@]}"; do
	path[$d]=$(cd "$d" && go mod edit -json | sed -n 's/^\t"Module": {$//;s/^\t\t"Path": "\(.*\)".*/\1/p' | head -1)
done
for d in "${mods[@]}"; do
	(
		cd "$d"
		reps=()
		for o in "${mods[@]}"; do
			[ "$o" = "$d" ] && continue
			rel=$(python3 -c 'import os,sys;r=os.path.relpath(sys.argv[1],sys.argv[2]);print(r if r.startswith("..") else "./"+r)' "$ROOT/$o" "$ROOT/$d")
			reps+=("${path[$o]}=$rel")
		done
		args=(); for r in "${reps[@]}"; do args+=("-replace=$r"); done
		drops=(); for r in "${reps[@]}"; do drops+=("-dropreplace=${r%%=*}"); done
		go mod edit "${args[@]}"
		trap 'go mod edit "${drops[@]}"' EXIT
		echo "tidy: $d"
		go mod tidy
	)
done
