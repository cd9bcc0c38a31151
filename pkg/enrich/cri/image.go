package cri

import "strings"

// Image is an image reference split into its parts.
type Image struct {
	// Repository is the reference without tag and digest, such as
	// "docker.io/library/nginx".
	Repository string
	// Tag is the tag, empty when the reference has none.
	Tag string
	// Digest is the content digest ("sha256:..."), empty when unknown.
	Digest string
}

// ParseImage splits an image reference such as
// "registry:5000/team/app:1.2@sha256:abc" into repository, tag and digest.
// A bare "sha256:<hex>" (an image id) is returned as a digest only.
func ParseImage(ref string) Image {
	var img Image
	if strings.HasPrefix(ref, "sha256:") {
		img.Digest = ref
		return img
	}
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		img.Digest = ref[at+1:]
		ref = ref[:at]
	}
	slash := strings.LastIndexByte(ref, '/')
	if colon := strings.LastIndexByte(ref, ':'); colon > slash {
		img.Tag = ref[colon+1:]
		ref = ref[:colon]
	}
	img.Repository = ref
	return img
}

// imageOf combines the image the container was created from (name, possibly
// only an id) with the runtime's resolved reference (repo digest or image id)
// into the reference shown to rules and its parts.
func imageOf(name, userSpecified, imageRef string) (string, Image) {
	if strings.HasPrefix(name, "sha256:") && userSpecified != "" {
		name = userSpecified
	}
	img := ParseImage(name)
	ref := ParseImage(imageRef)
	if img.Digest == "" {
		img.Digest = ref.Digest
	}
	if img.Repository == "" {
		img.Repository = ref.Repository
	}
	return name, img
}
