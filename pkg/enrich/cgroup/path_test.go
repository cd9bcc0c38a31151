package cgroup

import (
	"strings"
	"testing"
)

const (
	cid  = "4f1d2b9c8a7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a392817060504"
	cid2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	uid  = "8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f60"
	uidU = "8a5c1f0e_3b2d_4c6e_9f7a_1b2c3d4e5f60"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		path string
		want Info
	}{
		{"root", "/", Info{}},
		{"empty", "", Info{}},
		{"host service", "/system.slice/sshd.service", Info{}},
		{"user session", "/user.slice/user-0.slice/session-3.scope", Info{}},
		{"cgroupfs besteffort", "/kubepods/besteffort/pod" + uid + "/" + cid,
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRI, QOS: "besteffort"}},
		{"cgroupfs burstable", "/kubepods/burstable/pod" + uid + "/" + cid,
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRI, QOS: "burstable"}},
		{"cgroupfs guaranteed", "/kubepods/pod" + uid + "/" + cid,
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRI}},
		{"cgroupfs pod only", "/kubepods/besteffort/pod" + uid,
			Info{PodUID: uid, QOS: "besteffort"}},
		{"cgroupfs under kind node", "/kubelet/kubepods/burstable/pod" + uid + "/" + cid,
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRI, QOS: "burstable"}},
		{"systemd containerd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeContainerd, QOS: "burstable"}},
		{"systemd containerd guaranteed", "/kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeContainerd}},
		{"systemd crio", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + cid + ".scope",
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRIO, QOS: "besteffort"}},
		{"systemd crio conmon", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-conmon-" + cid + ".scope",
			Info{PodUID: uid, QOS: "besteffort"}},
		{"systemd docker in pod", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/docker-" + cid + ".scope",
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeDocker, QOS: "burstable"}},
		{"systemd hybrid unconverted", "/system.slice/containerd.service/kubepods-besteffort-pod" + uidU + ".slice:cri-containerd:" + cid,
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeContainerd, QOS: "besteffort"}},
		{"docker systemd", "/system.slice/docker-" + cid + ".scope",
			Info{ContainerID: cid, Runtime: RuntimeDocker}},
		{"docker cgroupfs", "/docker/" + cid, Info{ContainerID: cid, Runtime: RuntimeDocker}},
		{"podman", "/machine.slice/libpod-" + cid + ".scope", Info{ContainerID: cid, Runtime: RuntimePodman}},
		{"containerd namespace", "/default/" + cid, Info{ContainerID: cid, Runtime: RuntimeContainerd, Namespace: "default"}},
		{"containerd k8s.io namespace", "/k8s.io/" + cid, Info{ContainerID: cid, Runtime: RuntimeContainerd, Namespace: "k8s.io"}},
		{"plain runc", "/" + cid, Info{ContainerID: cid, Runtime: RuntimeRunc}},
		{"runc systemd", "/system.slice/runc-" + cid + ".scope", Info{ContainerID: cid, Runtime: RuntimeRunc}},
		{"nested innermost wins", "/docker/" + cid2 + "/kubepods/besteffort/pod" + uid + "/" + cid,
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRI, QOS: "besteffort"}},
		{"trailing slash", "/kubepods/besteffort/pod" + uid + "/" + cid + "/",
			Info{ContainerID: cid, PodUID: uid, Runtime: RuntimeCRI, QOS: "besteffort"}},
		{"bare id deep elsewhere", "/a/b/" + cid, Info{ContainerID: cid}},
		{"short id is not an id", "/docker/" + cid[:12], Info{}},
		{"upper-case hex is not an id", "/docker/" + strings.ToUpper(cid), Info{}},
		{"bad pod uid", "/kubepods/besteffort/podnot-a-uid/" + cid, Info{ContainerID: cid, QOS: "besteffort"}},
		{"unknown scope prefix", "/system.slice/foo-" + cid + ".scope", Info{}},
		{"bad slice", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstablepod" + uidU + ".slice", Info{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.path)
			if got != tt.want {
				t.Fatalf("Parse(%q)\n got  %+v\n want %+v", tt.path, got, tt.want)
			}
			if got.IsContainer() != (tt.want.ContainerID != "") {
				t.Fatalf("IsContainer = %v", got.IsContainer())
			}
		})
	}
}

func TestShortID(t *testing.T) {
	if got := ShortID(cid); got != cid[:12] {
		t.Fatalf("ShortID = %q", got)
	}
	if got := ShortID("host"); got != "host" {
		t.Fatalf("ShortID(host) = %q", got)
	}
	if got := (Info{ContainerID: cid}).ShortID(); got != cid[:12] {
		t.Fatalf("Info.ShortID = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/", "/kubepods/besteffort/pod" + uid + "/" + cid,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
		"/system.slice/containerd.service/kubepods-besteffort-pod" + uidU + ".slice:cri-containerd:" + cid,
		"/default/" + cid, "/" + cid, "/docker/" + cid, "kubepods-pod.slice", "pod", "::", "/a:b:c.scope",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		info := Parse(path)
		if info.ContainerID != "" {
			if !isContainerID(info.ContainerID) || !strings.Contains(path, info.ContainerID) {
				t.Fatalf("Parse(%q) container id %q", path, info.ContainerID)
			}
		}
		if info.PodUID != "" && !isUUID(info.PodUID) {
			t.Fatalf("Parse(%q) pod uid %q", path, info.PodUID)
		}
		if info.Namespace != "" && info.Runtime != RuntimeContainerd {
			t.Fatalf("Parse(%q) namespace without containerd: %+v", path, info)
		}
		if info.ContainerID == "" && info.Runtime != "" {
			t.Fatalf("Parse(%q) runtime without container: %+v", path, info)
		}
	})
}
