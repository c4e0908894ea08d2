package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Int decodes a JSON number, a numeric string, a bool or null: DeepFlow's
// models are not consistent across versions about which one they send.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch s {
	case "null", `""`:
		*i = 0
		return nil
	case "true":
		*i = 1
		return nil
	case "false":
		*i = 0
		return nil
	}
	s = strings.Trim(s, `"`)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*i = Int(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*i = Int(f)
	return nil
}

// DomainTypeAgentSync is the agent_sync domain TYPE.
const DomainTypeAgentSync = 23

// DefaultRegion is the region every all-in-one server has.
const DefaultRegion = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// Domain states (cli/ctl/common/const.go).
const (
	DomainStateNormal    = 1
	DomainStateException = 3
	DomainStateWarning   = 4
)

// Domain is one entry of GET /v2/domains/.
type Domain struct {
	ID           string          `json:"ID"`
	Name         string          `json:"NAME"`
	Type         Int             `json:"TYPE"`
	Enabled      Int             `json:"ENABLED"`
	State        Int             `json:"STATE"`
	ErrorMsg     string          `json:"ERROR_MSG"`
	ControllerIP string          `json:"CONTROLLER_IP"`
	Config       json.RawMessage `json:"CONFIG,omitempty"`
	VMCount      Int             `json:"VM_COUNT"`
	PodCount     Int             `json:"POD_COUNT"`
	CreatedAt    string          `json:"CREATED_AT"`
	SyncedAt     string          `json:"SYNCED_AT"`
	LCUUID       string          `json:"LCUUID"`
}

// DomainCreate is the body of POST /v1/domains/.
type DomainCreate struct {
	Name   string         `json:"NAME"`
	Type   int            `json:"TYPE"`
	Config map[string]any `json:"CONFIG,omitempty"`
}

// Group is one agent group (vtap-group).
type Group struct {
	ID   Int    `json:"ID"`
	Name string `json:"NAME"`
	// ShortUUID is the g-… ID agents ask for.
	ShortUUID  string   `json:"SHORT_UUID"`
	LCUUID     string   `json:"LCUUID"`
	UpdatedAt  string   `json:"UPDATED_AT"`
	VtapLCUUID []string `json:"VTAP_LCUUIDS"`
}

// GroupCreate is the body of POST /v1/vtap-groups/.
type GroupCreate struct {
	Name    string `json:"NAME"`
	GroupID string `json:"GROUP_ID,omitempty"`
}

// Agent states (server/controller/common/const.go).
const (
	AgentLost    = 0
	AgentNormal  = 1
	AgentDisable = 2
	AgentPending = 3
)

// Agent types.
const (
	AgentTypeKVM        = 1
	AgentTypeESXI       = 2
	AgentTypeWorkloadV  = 3
	AgentTypeWorkloadP  = 5
	AgentTypeDedicated  = 6
	AgentTypePodHost    = 7
	AgentTypePodVM      = 8
	AgentTypeTunDecap   = 9
	AgentTypeHyperV     = 10
	AgentTypeK8sSidecar = 12
)

// Vtap is one registered agent of GET /v1/vtaps/.
type Vtap struct {
	ID                   Int    `json:"ID"`
	Name                 string `json:"NAME"`
	State                Int    `json:"STATE"`
	Enable               Int    `json:"ENABLE"`
	Type                 Int    `json:"TYPE"`
	CtrlIP               string `json:"CTRL_IP"`
	CtrlMAC              string `json:"CTRL_MAC"`
	LaunchServer         string `json:"LAUNCH_SERVER"`
	ControllerIP         string `json:"CONTROLLER_IP"`
	AnalyzerIP           string `json:"ANALYZER_IP"`
	CurControllerIP      string `json:"CUR_CONTROLLER_IP"`
	CurAnalyzerIP        string `json:"CUR_ANALYZER_IP"`
	SyncedControllerAt   string `json:"SYNCED_CONTROLLER_AT"`
	SyncedAnalyzerAt     string `json:"SYNCED_ANALYZER_AT"`
	Revision             string `json:"REVISION"`
	CompleteRevision     string `json:"COMPLETE_REVISION"`
	Exceptions           []Int  `json:"EXCEPTIONS"`
	ExceptionDescription string `json:"EXCEPTION_DESCRIPTION,omitempty"`
	GroupLCUUID          string `json:"VTAP_GROUP_LCUUID"`
	GroupName            string `json:"VTAP_GROUP_NAME"`
	Arch                 string `json:"ARCH"`
	OS                   string `json:"OS"`
	LCUUID               string `json:"LCUUID"`
}

// Vinterface is one interface an agent reported through genesis sync
// (GET /v1/sync/vinterface/). Field names vary across versions, so it is
// read from the raw object by Decode.
type Vinterface struct {
	Name       string   `json:"NAME"`
	MAC        string   `json:"MAC"`
	IPs        []string `json:"IPS"`
	HostIP     string   `json:"HOST_IP"`
	NodeIP     string   `json:"NODE_IP"`
	VtapID     Int      `json:"VTAP_ID"`
	DeviceName string   `json:"DEVICE_NAME"`
	LastSeen   string   `json:"LAST_SEEN"`
}

// UnmarshalJSON reads IPS as a list or as DeepFlow's comma-separated
// string, and matches keys case-insensitively.
func (v *Vinterface) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	get := func(k string) json.RawMessage {
		for mk, mv := range m {
			if strings.EqualFold(mk, k) {
				return mv
			}
		}
		return nil
	}
	str := func(k string) string {
		raw := get(k)
		if raw == nil {
			return ""
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return strings.Trim(string(raw), `"`)
	}
	*v = Vinterface{Name: str("NAME"), MAC: str("MAC"), HostIP: str("HOST_IP"), NodeIP: str("NODE_IP"),
		DeviceName: str("DEVICE_NAME"), LastSeen: str("LAST_SEEN")}
	if raw := get("VTAP_ID"); raw != nil {
		if err := v.VtapID.UnmarshalJSON(raw); err != nil {
			return fmt.Errorf("VTAP_ID: %w", err)
		}
	}
	if raw := get("IPS"); raw != nil {
		var list []string
		if json.Unmarshal(raw, &list) == nil {
			v.IPs = list
		} else {
			for _, p := range strings.Split(str("IPS"), ",") {
				if p = strings.TrimSpace(p); p != "" {
					v.IPs = append(v.IPs, p)
				}
			}
		}
	}
	return nil
}

// LegacyGroupConfig is one entry of GET /v1/vtap-group-configuration/.
type LegacyGroupConfig struct {
	LCUUID    string `json:"LCUUID"`
	GroupID   string `json:"VTAP_GROUP_ID"`
	GroupName string `json:"VTAP_GROUP_NAME"`
}
