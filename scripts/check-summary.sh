#!/bin/sh
# Print one line per test suite and the closing "N passed, N failed" line;
# exit non-zero when any suite failed.
dir=$1; shift
passed=0; failed=0
echo "=== summary"
for s in "$@"; do
	r=$(cat "$dir/$s" 2>/dev/null || echo FAIL)
	echo "  $s: $r"
	if [ "$r" = pass ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
