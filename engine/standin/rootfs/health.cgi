#!/bin/sh
# Stand-in of deepflow-server's /v1/health/: 503 with the init stage until
# ready, then 200.
W=/tmp/standin
n=$(cat "$W/probes" 2>/dev/null || echo 0)
echo $((n + 1)) >"$W/probes"
if [ -f "$W/ready" ]; then
	printf 'Content-Type: application/json\r\n\r\n{"OPT_STATUS":"SUCCESS","DESCRIPTION":"ready (stand-in)"}\n'
else
	printf 'Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n{"OPT_STATUS":"FAIL","DESCRIPTION":"%s"}\n' "$(cat "$W/stage" 2>/dev/null)"
fi
