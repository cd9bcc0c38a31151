package cluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// imageFile is one entry of an image's single layer.
type imageFile struct {
	// Content of a regular file; ignored for directories and links.
	Content []byte
	// Mode is the permission bits (0755 when zero for files, 0755 for
	// directories).
	Mode int64
	// Dir makes the entry a directory.
	Dir bool
	// Link makes the entry a symbolic link to this target.
	Link string
}

// imageSpec describes an OCI image built without a registry.
type imageSpec struct {
	// Ref is the name it is imported under, such as docker.io/vigil/agent:test.
	Ref string
	// Files maps paths (no leading slash) to entries; parent directories
	// are added.
	Files map[string]imageFile
	// Entrypoint and Cmd of the image config.
	Entrypoint, Cmd []string
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// writeOCIArchive writes spec as an OCI image-layout tarball at path, as
// `ctr images import` reads it.
func writeOCIArchive(path string, spec imageSpec) error {
	entries := map[string]imageFile{}
	for name, f := range spec.Files {
		name = strings.Trim(name, "/")
		entries[name] = f
		for d := name; strings.Contains(d, "/"); {
			d = d[:strings.LastIndexByte(d, '/')]
			if _, ok := entries[d]; !ok {
				entries[d] = imageFile{Dir: true}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names) // parents before children
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	mtime := time.Unix(0, 0)
	for _, n := range names {
		f := entries[n]
		h := &tar.Header{Name: n, ModTime: mtime, Mode: f.Mode}
		switch {
		case f.Dir:
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Content))
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Content); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(layer.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": spec.Entrypoint, "Cmd": spec.Cmd,
			"Env": []string{"PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin"},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha(layer.Bytes())}},
	})
	if err != nil {
		return err
	}
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int               `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Platform    map[string]string `json:"platform,omitempty"`
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha(config), Size: len(config)},
		"layers":        []desc{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: sha(gz.Bytes()), Size: gz.Len()}},
	})
	if err != nil {
		return err
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []desc{{
			MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: sha(manifest), Size: len(manifest),
			Annotations: map[string]string{
				"io.containerd.image.name":          spec.Ref,
				"org.opencontainers.image.ref.name": spec.Ref[strings.LastIndexByte(spec.Ref, ':')+1:],
			},
			Platform: map[string]string{"architecture": runtime.GOARCH, "os": "linux"},
		}},
	})
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	w := tar.NewWriter(out)
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := w.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: mtime}); err != nil {
			return err
		}
	}
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{"blobs/sha256/" + strings.TrimPrefix(sha(config), "sha256:"), config},
		{"blobs/sha256/" + strings.TrimPrefix(sha(manifest), "sha256:"), manifest},
		{"blobs/sha256/" + strings.TrimPrefix(sha(gz.Bytes()), "sha256:"), gz.Bytes()},
	} {
		if err := w.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := w.Write(e.data); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return out.Close()
}
