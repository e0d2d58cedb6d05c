// Package templates holds the Dockerfiles of the images the release publishes, one directory each: the
// built-in sandbox templates (<registry>/sandbox-<name>), envd (injected into every sandbox pod) and the
// sandbox-manager. The Dockerfiles compile nothing: they copy the binaries .goreleaser.yml builds from
// their build context ($TARGETPLATFORM/<binary>). The package's test keeps the Dockerfiles, the release
// configuration and the image names the manager and its deployment use in step.
package templates
