package cri

import "encoding/json"

// verboseInfo is the part of a runtime's verbose status ("info" key) that
// Vigil reads. containerd nests the CRI config under "config" with the
// protobuf field names; CRI-O reports "privileged" at the top level.
type verboseInfo struct {
	Pid        int   `json:"pid"`
	Privileged *bool `json:"privileged"`
	Config     struct {
		Image struct {
			Image string `json:"image"`
		} `json:"image"`
		Linux struct {
			SecurityContext      *securityContext `json:"security_context"`
			SecurityContextCamel *securityContext `json:"securityContext"`
		} `json:"linux"`
	} `json:"config"`
	RuntimeSpec struct {
		Linux struct {
			CgroupsPath string `json:"cgroupsPath"`
		} `json:"linux"`
	} `json:"runtimeSpec"`
}

type securityContext struct {
	Privileged bool `json:"privileged"`
}

// Info is what the verbose status of a container or sandbox tells beyond
// the CRI fields.
type Info struct {
	// Pid is the init process of the container (0 when unknown).
	Pid int
	// Privileged reports a privileged container or sandbox.
	Privileged bool
	// CgroupsPath is the cgroup path the runtime gave to the OCI runtime.
	CgroupsPath string
	// Image is the image as the container's creator asked for it (the
	// runtime's status may name another tag of the same image).
	Image string
}

// ParseInfo reads the runtime's verbose status map (the "info" entry).
// Unknown or malformed content yields a zero Info and the decoding error.
func ParseInfo(m map[string]string) (Info, error) {
	raw, ok := m["info"]
	if !ok || raw == "" {
		return Info{}, nil
	}
	var v verboseInfo
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return Info{}, err
	}
	info := Info{Pid: v.Pid, CgroupsPath: v.RuntimeSpec.Linux.CgroupsPath, Image: v.Config.Image.Image}
	switch {
	case v.Privileged != nil:
		info.Privileged = *v.Privileged
	case v.Config.Linux.SecurityContext != nil:
		info.Privileged = v.Config.Linux.SecurityContext.Privileged
	case v.Config.Linux.SecurityContextCamel != nil:
		info.Privileged = v.Config.Linux.SecurityContextCamel.Privileged
	}
	return info, nil
}
