package agentcfg

// Group is the agent.group part of the settings: agent-group recipes from
// DeepFlow's advanced-configuration guide. Nil and zero-value fields are
// not written, so a group config only holds what was asked for.
type Group struct {
	// MaxMemoryMB limits the agent's memory (max_memory /
	// global.limits.max_memory).
	MaxMemoryMB *int `yaml:"maxMemoryMB,omitempty"`
	// ThreadThreshold limits the agent's threads (thread_threshold /
	// global.alerts.thread_threshold).
	ThreadThreshold *int `yaml:"threadThreshold,omitempty"`
	// CaptureInterfaceRegex selects the NICs to capture
	// (tap_interface_regex / inputs.cbpf.af_packet.interface_regex).
	CaptureInterfaceRegex *string `yaml:"captureInterfaceRegex,omitempty"`
	// PlatformSync is v6.5's platform_enabled; v6.6+ upgrades it to
	// inputs.resources.private_cloud.hypervisor_resource_enabled. Set it
	// only on hosts that run VMs: from v7.1.8 the server types an unknown
	// agent asking for it as a KVM hypervisor (before workload sync,
	// sync_push.go), and builds no VM for a host that runs none.
	PlatformSync *bool `yaml:"platformSync,omitempty"`

	ProcessTopology     *ProcessTopology     `yaml:"processTopology,omitempty"`
	Macvlan             *Macvlan             `yaml:"macvlan,omitempty"`
	KubernetesResources *KubernetesResources `yaml:"kubernetesResources,omitempty"`
}

// ProcessTopology syncs process information so data carries process
// (gprocess) tags: the "process-level universal service map".
type ProcessTopology struct {
	Enabled    *bool `yaml:"enabled,omitempty"`
	TaggedOnly *bool `yaml:"taggedOnly,omitempty"`
	// TagCommand prints process tags as YAML; TagCommandUser runs it.
	TagCommand     []string `yaml:"tagCommand,omitempty"`
	TagCommandUser *string  `yaml:"tagCommandUser,omitempty"`
	// Rules are tried in order; the first match decides.
	Rules []ProcessRule `yaml:"rules,omitempty"`
}

// ProcessRule is one process matcher.
type ProcessRule struct {
	Match       string `yaml:"match"`                 // regular expression
	MatchType   string `yaml:"matchType,omitempty"`   // process_name (default), cmdline, parent_process_name, tag
	Action      string `yaml:"action,omitempty"`      // accept (default), drop
	RewriteName string `yaml:"rewriteName,omitempty"` // may use $1, ${NAME}, %ENV%
}

// Macvlan captures in mirror mode (tap_mode 1 / capture_mode 1) on the
// NICs that carry the macvlan Pods' traffic.
type Macvlan struct {
	Interfaces []string `yaml:"interfaces"`
}

// KubernetesResources adds Kubernetes API resources for the agent to watch.
type KubernetesResources struct {
	// Presets: openshift (routes on, ingresses off), openkruise (clonesets,
	// and statefulsets in both apps and apps.kruise.io).
	Presets []string             `yaml:"presets,omitempty"`
	Extra   []KubernetesResource `yaml:"extra,omitempty"`
}

// KubernetesResource is one API resource; Group "" is the core group.
type KubernetesResource struct {
	Group    string `yaml:"group,omitempty"`
	Name     string `yaml:"name"`
	Version  string `yaml:"version,omitempty"`
	Disabled bool   `yaml:"disabled,omitempty"`
}

// Communication is where agents reach deepflow-server, as resolved by
// the render's topology. Empty IPs and zero ports are not written.
type Communication struct {
	IngesterIP     string
	IngesterPort   int
	ControllerIP   string
	ControllerPort int
}

// Input is everything one group config is made of.
type Input struct {
	// GroupID is the agent group (g-…); Legacy configs require it.
	GroupID       string
	Communication Communication
	// HypervisorResourceEnabled reports the host's VMs and networks
	// (v6.6+ hypervisor_resource_enabled, v6.5 platform_enabled).
	HypervisorResourceEnabled bool
	// WorkloadResourceSyncEnabled makes the server create a host resource
	// from what a process agent reports (v6.6+
	// workload_resource_sync_enabled; v6.5 had platform_enabled for this).
	WorkloadResourceSyncEnabled bool
	Group                       Group
}
