package doctor

import (
	"fmt"
	"math/bits"
)

// exception is one EXCEPTIONS bit (message/agent.proto enum Exception for
// the agent's bits; server/controller/common/const.go for the server's).
type exception struct {
	name string
	sev  Severity
	why  string
	fix  string
}

const recipeFix = "raise %s in the recipe settings (render --set %s=N), run bootstrap again, or give the agent host more resources"

var exceptions = map[uint64]exception{
	1 << 0: {"DISK_NOT_ENOUGH", Warning, "the agent host's disk is nearly full", "free disk space on the agent host"},
	1 << 1: {"MEM_NOT_ENOUGH", Warning, "the agent host has less free memory than the agent's limit", fmt.Sprintf(recipeFix, "or lower agent.group.maxMemoryMB", "agent.group.maxMemoryMB")},
	1 << 2: {"COREFILE_TOO_MANY", Warning, "the agent crashed and left core files", "read the agent's log and remove old core files"},
	1 << 3: {"NPB_FUSE", Warning, "packet broker traffic tripped its fuse", ""},
	1 << 4: {"NPB_BPS_THRESHOLD_EXCEEDED", Warning, "packet broker bandwidth exceeded its threshold", ""},
	1 << 5: {"NPB_NO_GW_ARP", Warning, "the packet broker found no gateway ARP entry", ""},
	1 << 6: {"RX_PPS_THRESHOLD_EXCEEDED", Warning, "captured packets per second exceeded the agent's threshold; some are dropped", ""},
	1 << 7: {"ANALYZER_NO_GW_ARP", Error, "the agent found no ARP entry for the gateway towards the ingester", "check the route from the agent host to the node IP"},
	1 << 8: {"INVALID_CONFIGURATION", Error, "the agent rejected its configuration (the group config or its own YAML)",
		"read the agent's log for the key it rejects; run doctor without --agent to compare the group config with the rendered file, and bootstrap to replace it"},
	1 << 9:  {"THREAD_THRESHOLD_EXCEEDED", Warning, "the agent runs more threads than its threshold and may restart", fmt.Sprintf(recipeFix, "agent.group.threadThreshold", "agent.group.threadThreshold")},
	1 << 10: {"PROCESS_THRESHOLD_EXCEEDED", Warning, "the host runs more processes than the agent's threshold", "raise global.alerts.process_threshold in the group config"},
	1 << 12: {"TOO_MANY_POLICIES", Warning, "too many policies for the agent", ""},
	1 << 13: {"FREE_MEM_EXCEEDED", Warning, "the host's free memory fell below the agent's circuit breaker", "free memory on the agent host"},
	1 << 14: {"LOG_FILE_EXCEEDED", Warning, "the agent's log file reached its size limit", "rotate or remove the agent's log"},
	1 << 15: {"CONTROLLER_SOCKET_ERROR", Error, "the agent cannot keep a connection to the controller (gRPC) port (deepflow#9638)",
		"check that the controller port in the agent YAML (controller-port) is published on the node IP and not firewalled between the agent and the server"},
	1 << 16: {"ANALYZER_SOCKET_ERROR", Error, "the agent cannot send data to the ingester port (deepflow#9638)",
		"check that the ingester port is published on the node IP and not firewalled, and that the node IP is routable from the agent"},
	1 << 17:     {"NPB_SOCKET_ERROR", Warning, "the packet broker cannot send", ""},
	1 << 18:     {"INTEGRATION_SOCKET_ERROR", Warning, "the agent's integration listener cannot bind or send", "check that no other process holds the agent's integration port on the host"},
	1 << 19:     {"CGROUPS_CONFIG_ERROR", Warning, "the agent cannot apply its cgroup limits", "run the agent with access to cgroups (the rendered agent compose file does); on old Docker use the privileged variant"},
	1 << 20:     {"SYSTEM_LOAD_CIRCUIT_BREAKER", Warning, "the host's load tripped the agent's circuit breaker; it paused collection", ""},
	1 << 21:     {"DATA_BPS_THRESHOLD_EXCEEDED", Warning, "the data sent exceeded the agent's bandwidth threshold", ""},
	1 << 22:     {"FREE_DISK_CIRCUIT_BREAKER", Warning, "free disk fell below the agent's circuit breaker", "free disk space on the agent host"},
	1 << 23:     {"KERNEL_VERSION_CIRCUIT_BREAKER", Warning, "the kernel is too old for some of the agent's features", ""},
	1 << 24:     {"MEM_EXCEEDED", Warning, "the agent uses more memory than its limit", fmt.Sprintf(recipeFix, "agent.group.maxMemoryMB", "agent.group.maxMemoryMB")},
	0x40000000:  {"ALLOC_ANALYZER_FAILED", Error, "the server could not assign an ingester to the agent", "check that the ingester is enabled and healthy (doctor's port checks, docker logs deepflow-server)"},
	0x80000000:  {"ALLOC_CONTROLLER_FAILED", Error, "the server could not assign a controller to the agent", "check the server's log"},
	0x100000000: {"LICENSE_NOT_ENOUGH", Error, "the server reports no licence left for the agent", ""},
	0x200000000: {"PRODUCT_NOT_SUPPORTED", Error, "the server does not support this agent product", ""},
	0x400000000: {"NOT_ALLOWED_CE", Error, "this agent type is not allowed in the community edition", ""},
}

// DecodeExceptions splits EXCEPTIONS values into single bits and names
// them; unknown bits are "BIT_<n>".
func DecodeExceptions(values []int64) []string {
	var out []string
	for _, b := range exceptionBits(values) {
		out = append(out, exceptionName(b))
	}
	return out
}

// exceptionBits splits EXCEPTIONS values into single bits, each once. The
// server sends one value per set bit, but an OR of several is split too.
func exceptionBits[T ~int64](values []T) []uint64 {
	var out []uint64
	seen := map[uint64]bool{}
	for _, v := range values {
		u := uint64(v)
		for u != 0 {
			b := uint64(1) << bits.TrailingZeros64(u)
			u &^= b
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	return out
}

func exceptionName(b uint64) string {
	if e, ok := exceptions[b]; ok {
		return e.name
	}
	return fmt.Sprintf("BIT_%d", bits.TrailingZeros64(b))
}
