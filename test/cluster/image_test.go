package cluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteOCIArchive reads an archive back: every blob matches its digest,
// the index names the ref, and the layer lists parents before children,
// with files, directories and symlinks as given.
func TestWriteOCIArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.tar")
	spec := imageSpec{
		Ref: "docker.io/vigil/x:test",
		Files: map[string]imageFile{
			"bin/busybox": {Content: []byte("bb")},
			"bin/sh":      {Link: "busybox"},
			"tmp":         {Dir: true, Mode: 0o1777},
			"etc/shadow":  {Content: []byte("root:*:1::::::\n"), Mode: 0o640},
		},
		Entrypoint: []string{"/bin/sh"},
	}
	if err := writeOCIArchive(path, spec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	for name, b := range files {
		if d, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && d != "" && sha(b) != "sha256:"+d {
			t.Errorf("blob %s has digest %s", name, sha(b))
		}
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, files["index.json"])
	}
	if got := index.Manifests[0].Annotations["io.containerd.image.name"]; got != spec.Ref {
		t.Errorf("image name %q", got)
	}
	var manifest struct {
		Config struct{ Digest string }   `json:"config"`
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(index.Manifests[0].Digest, "sha256:")], &manifest); err != nil {
		t.Fatal(err)
	}
	var config struct {
		Config struct{ Entrypoint []string } `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(manifest.Config.Digest, "sha256:")], &config); err != nil {
		t.Fatal(err)
	}
	if strings.Join(config.Config.Entrypoint, " ") != "/bin/sh" {
		t.Errorf("entrypoint %v", config.Config.Entrypoint)
	}
	gz, err := gzip.NewReader(bytes.NewReader(files["blobs/sha256/"+strings.TrimPrefix(manifest.Layers[0].Digest, "sha256:")]))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	if sha(layer) != config.RootFS.DiffIDs[0] {
		t.Errorf("layer diff id %s, config says %s", sha(layer), config.RootFS.DiffIDs[0])
	}
	var got []string
	lr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		desc := h.Name
		switch h.Typeflag {
		case tar.TypeSymlink:
			desc += "->" + h.Linkname
		case tar.TypeReg:
			b, _ := io.ReadAll(lr)
			desc += "=" + string(b)
		}
		got = append(got, desc+" "+os.FileMode(h.Mode).Perm().String())
	}
	want := []string{"bin/ -rwxr-xr-x", "bin/busybox=bb -rwxr-xr-x", "bin/sh->busybox -rwxrwxrwx",
		"etc/ -rwxr-xr-x", "etc/shadow=root:*:1::::::\n -rw-r-----", "tmp/ -rwxrwxrwx"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("layer:\n got %q\nwant %q", got, want)
	}
}
