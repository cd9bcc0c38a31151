package cri

import (
	"strings"
	"testing"
)

const digest = "sha256:2d1a5c7e9b3f4a6c8e0d2f4b6a8c0e2d4f6a8b0c2e4d6f8a0b2c4e6d8f0a2b4c"

func TestParseImage(t *testing.T) {
	tests := []struct {
		ref  string
		want Image
	}{
		{"nginx", Image{Repository: "nginx"}},
		{"nginx:1.27", Image{Repository: "nginx", Tag: "1.27"}},
		{"docker.io/library/nginx:1.27", Image{Repository: "docker.io/library/nginx", Tag: "1.27"}},
		{"registry:5000/team/app", Image{Repository: "registry:5000/team/app"}},
		{"registry:5000/team/app:v2", Image{Repository: "registry:5000/team/app", Tag: "v2"}},
		{"registry:5000/team/app:v2@" + digest, Image{Repository: "registry:5000/team/app", Tag: "v2", Digest: digest}},
		{"docker.io/library/nginx@" + digest, Image{Repository: "docker.io/library/nginx", Digest: digest}},
		{digest, Image{Digest: digest}},
		{"", Image{}},
	}
	for _, tt := range tests {
		if got := ParseImage(tt.ref); got != tt.want {
			t.Errorf("ParseImage(%q) = %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}

func TestImageOf(t *testing.T) {
	tests := []struct {
		name, user, ref string
		wantRef         string
		want            Image
	}{
		{"docker.io/vigil/app:1.0", "", "docker.io/vigil/app@" + digest, "docker.io/vigil/app:1.0",
			Image{Repository: "docker.io/vigil/app", Tag: "1.0", Digest: digest}},
		{"docker.io/vigil/app:1.0", "", digest, "docker.io/vigil/app:1.0",
			Image{Repository: "docker.io/vigil/app", Tag: "1.0", Digest: digest}},
		{digest, "vigil/app:1.0", digest, "vigil/app:1.0", Image{Repository: "vigil/app", Tag: "1.0", Digest: digest}},
		{digest, "", "docker.io/vigil/app@" + digest, digest, Image{Repository: "docker.io/vigil/app", Digest: digest}},
	}
	for _, tt := range tests {
		ref, got := imageOf(tt.name, tt.user, tt.ref)
		if ref != tt.wantRef || got != tt.want {
			t.Errorf("imageOf(%q, %q, %q) = %q, %+v; want %q, %+v", tt.name, tt.user, tt.ref, ref, got, tt.wantRef, tt.want)
		}
	}
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"nginx", "a:b", "r:5000/x/y:z@sha256:00", digest, "@", ":", "/:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		img := ParseImage(ref)
		if strings.Contains(img.Tag, "/") {
			t.Fatalf("ParseImage(%q): tag %q holds a slash", ref, img.Tag)
		}
		if strings.Contains(img.Repository, "@") {
			t.Fatalf("ParseImage(%q): repository %q holds a digest", ref, img.Repository)
		}
		if len(img.Repository)+len(img.Tag)+len(img.Digest) > len(ref) {
			t.Fatalf("ParseImage(%q) = %+v: parts longer than the input", ref, img)
		}
	})
}
