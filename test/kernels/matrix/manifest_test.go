package matrix

import (
	"reflect"
	"testing"
)

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Manifest
		wantErr bool
	}{{
		name: "kernels and busybox",
		in: "kernel amd64 7.2 linux-binary-7.2.13+deb14-cloud-amd64 7.2.13-1 /c/amd64/7.2/vmlinuz\n" +
			"kernel amd64 5.10 linux-image-5.10.0-46-cloud-amd64 5.10.262-1 /c/amd64/5.10/vmlinuz\n\n" +
			"busybox amd64 1:1.38.0-3+b1 /c/amd64/busybox/busybox\n",
		want: Manifest{
			Kernels: []Kernel{
				{Arch: "amd64", Series: "7.2", Package: "linux-binary-7.2.13+deb14-cloud-amd64", Version: "7.2.13-1", Image: "/c/amd64/7.2/vmlinuz"},
				{Arch: "amd64", Series: "5.10", Package: "linux-image-5.10.0-46-cloud-amd64", Version: "5.10.262-1", Image: "/c/amd64/5.10/vmlinuz"},
			},
			Busybox: map[string]string{"amd64": "/c/amd64/busybox/busybox"},
		},
	}, {
		name: "empty",
		in:   "",
		want: Manifest{Busybox: map[string]string{}},
	}, {
		name:    "short kernel line",
		in:      "kernel amd64 7.2\n",
		wantErr: true,
	}, {
		name:    "unknown line",
		in:      "W: some apt warning\n",
		wantErr: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("kernel arm64 6.1 linux-image-6.1.0-56-cloud-arm64 6.1.192-2 /x/vmlinuz\nbusybox arm64 1 /x/busybox\n")
	f.Add("kernel\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseManifest([]byte(in))
		if err != nil {
			return
		}
		for _, k := range m.Kernels {
			if k.Arch == "" || k.Image == "" {
				t.Fatalf("kernel with empty fields: %+v", k)
			}
		}
	})
}
