// Package k8s holds the kustomize manifests of Polku (base/, overlays/,
// otel-collector/) and, in manifests_test.go, the test that renders every overlay
// with the kustomize Go API, strictly decodes each object into the Kubernetes API
// types and checks the deployment rules (probes, resources, security context,
// service selectors, service accounts, network policy edges, replicas).
//
// It is its own module, outside go.work, so that the Kubernetes dependencies never
// reach the service modules: run it with
//
//	cd deploy/k8s && GOWORK=off go test ./...
package k8s
