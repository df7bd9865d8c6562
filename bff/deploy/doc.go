// Package deploy holds handheld's deployment files: the container image
// (Containerfile), a local multi-replica setup (compose.yaml) and the Helm
// chart (chart/). It has no code; its tests render and validate the files
// with the real tools (Helm, the Kubernetes API types, the Compose schema)
// and load every setting they name through bff.LoadConfig, so a deployment
// that would not start fails `make test` instead (docs/operations.md §
// Deploying).
package deploy
