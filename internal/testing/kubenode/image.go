package kubenode

import (
	"strings"
)

// Images the test node understands. A sandbox template image is <anything>/sandbox-<template>:<tag>;
// an envd image is <anything>/envd:<tag>. Registry, path and tag are not looked at: there is no image
// store here, the local runtime's templates stand in for images.
const (
	templateImagePrefix = "sandbox-"
	envdImageName       = "envd"
)

// imageName is the last path element of an image reference without tag or digest
// ("ghcr.io/sandboxstack/sandbox-base:1.2" → "sandbox-base"; "localhost:5000/envd@sha256:…" → "envd").
func imageName(image string) string {
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	if i := strings.IndexAny(image, ":@"); i >= 0 {
		image = image[:i]
	}
	return image
}

// templateOf returns the local template an image selects, and false for an image that is not a
// sandbox template image.
func templateOf(image string) (string, bool) {
	template, ok := strings.CutPrefix(imageName(image), templateImagePrefix)
	if !ok || template == "" {
		return "", false
	}
	return template, true
}

// isEnvdImage reports whether image is an envd image: its init container only copies envd, which the
// local runtime injects by itself, so the test node reports it completed at once.
func isEnvdImage(image string) bool { return imageName(image) == envdImageName }
