package cri

import "testing"

func TestParseInfo(t *testing.T) {
	tests := []struct {
		name    string
		info    map[string]string
		want    Info
		wantErr bool
	}{
		{"none", nil, Info{}, false},
		{"containerd privileged", map[string]string{"info": `{"pid":4242,"config":{"image":{"image":"docker.io/vigil/app:1"},"linux":{"security_context":{"privileged":true}}},"runtimeSpec":{"linux":{"cgroupsPath":"/kubepods/besteffort/podx/abc"}}}`},
			Info{Pid: 4242, Privileged: true, CgroupsPath: "/kubepods/besteffort/podx/abc", Image: "docker.io/vigil/app:1"}, false},
		{"containerd unprivileged", map[string]string{"info": `{"pid":7,"config":{"linux":{"security_context":{"run_as_user":{"value":1000}}}}}`},
			Info{Pid: 7}, false},
		{"camel case", map[string]string{"info": `{"config":{"linux":{"securityContext":{"privileged":true}}}}`},
			Info{Privileged: true}, false},
		{"cri-o top level", map[string]string{"info": `{"pid":9,"privileged":true}`}, Info{Pid: 9, Privileged: true}, false},
		{"malformed", map[string]string{"info": `{"pid":`}, Info{}, true},
	}
	for _, tt := range tests {
		got, err := ParseInfo(tt.info)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: ParseInfo = %+v, %v; want %+v, err %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseInfo(f *testing.F) {
	f.Add(`{"pid":1,"config":{"linux":{"security_context":{"privileged":true}}}}`)
	f.Add(`{"privileged":false}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		info, err := ParseInfo(map[string]string{"info": s})
		if err != nil && info != (Info{}) {
			t.Fatalf("ParseInfo(%q) returned %+v with error %v", s, info, err)
		}
	})
}
