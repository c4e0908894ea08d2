#!/bin/sh
# Runs each fuzz target for its budget and prints how many executions it
# reached; the full output of each run is kept in $FUZZ_LOG_DIR. FuzzFeed's
# budget is a count: under a time budget its workers report their count
# only at the end, and the line printed shows far too few.
set -u
GO=${GO:-go}
dir=${FUZZ_LOG_DIR:-fuzz-logs}
mkdir -p "$dir"
status=0
run() { # package target budget
	log="$dir/$2.log"
	"$GO" test "$1" -run XXX -fuzz "^$2\$" -fuzztime "$3" >"$log" 2>&1
	rc=$?
	grep -v 'level=' "$log" | grep -E '^fuzz: elapsed' | tail -1 | sed "s/^/$2: /"
	if [ $rc -ne 0 ]; then
		echo "$2 failed (exit $rc); see $log" >&2
		tail -30 "$log" >&2
		status=1
	fi
}
run ./render FuzzSecrets 30s
run ./render FuzzINIValue 15s
run ./bundle FuzzFeed 30000x
exit $status
