package k8s

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// components are the seven Polku deployables: gRPC port (HTTP for the gateway
// and the web UI).
var components = map[string]int32{
	"gateway":    8080,
	"clients":    9101,
	"assessment": 9102,
	"budget":     9103,
	"catalogue":  9104,
	"referral":   9105,
	"web":        8090,
}

// httpProbes are the components with HTTP probes: probe kind -> path (on the
// component's port). The others have gRPC health probes.
var httpProbes = map[string]map[string]string{
	"gateway": {"liveness": "/healthz", "readiness": "/readyz"},
	// web/internal/ui serves only /healthz: the UI holds no connections of its own.
	"web": {"liveness": "/healthz", "readiness": "/healthz"},
}

// public are the components the ingress controller reaches (from anywhere).
var public = []string{"gateway", "web"}

// metricsPort is where every component serves Prometheus /metrics.
const metricsPort = 9090

// noTelemetry are the components that serve no Prometheus metrics and export no
// traces: web/cmd/web never reads POLKU_METRICS_ADDR nor sets up OpenTelemetry, so
// it has no metrics port, no scrape annotations, and no edges to Prometheus or the
// collector (pretending otherwise would open ports nothing listens on).
var noTelemetry = []string{"web"}

// TestNoTelemetryIsTrue reads the mains of the noTelemetry components: the day one
// of them sets up telemetry (platform/telemetry: OTLP export, the /metrics
// scrape), its manifests and this test's model must get the metrics port, the
// annotations and the collector and Prometheus edges.
func TestNoTelemetryIsTrue(t *testing.T) {
	for _, c := range noTelemetry {
		path := filepath.Join("..", "..", c, "cmd", c, "main.go")
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, marker := range []string{"platform/telemetry", "MetricsAddr"} {
			if strings.Contains(string(src), marker) {
				t.Errorf("%s uses %s: give polku-%s the metrics port, scrape annotations and telemetry edges, and remove it from noTelemetry", path, marker, c)
			}
		}
	}
}

// identityProvider is the peer every component reaches on TCP 443 for the JWKS
// (and the web UI for OIDC discovery and the code exchange): anywhere in the
// base (regions narrow it).
const identityProvider = "cidr:0.0.0.0/0"

// services are the components that keep data in Redis (all but the gateway and web).
var services = []string{"clients", "assessment", "budget", "catalogue", "referral"}

// calls is the service call graph: caller -> callees.
var calls = map[string][]string{
	"web":        {"gateway"},
	"gateway":    {"clients", "assessment", "budget", "catalogue", "referral"},
	"assessment": {"clients", "catalogue"},
	"budget":     {"clients", "assessment", "catalogue"},
	"referral":   {"clients", "catalogue", "budget", "assessment"},
}

// secretEnv must come from a Secret (secretKeyRef), never from the ConfigMap.
var secretEnv = []string{"POLKU_PIC_KEY", "POLKU_PIC_OLD_KEYS", "POLKU_REDIS_PASSWORD", "POLKU_JWKS_URL", "POLKU_JWT_ISSUER", "POLKU_JWT_AUDIENCE",
	"POLKU_WEB_SESSION_KEY", "POLKU_WEB_OIDC_CLIENT_SECRET"}

// rendered holds the strictly decoded objects of one kustomization.
type rendered struct {
	namespace    string
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	accounts     []*corev1.ServiceAccount
	configMaps   []*corev1.ConfigMap
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	policies     []*networkingv1.NetworkPolicy
	ingresses    []*networkingv1.Ingress
}

// render builds dir with the kustomize API (no kubectl, no cluster) and decodes
// every object strictly: an unknown or duplicated field fails the test.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	r := &rendered{}
	for _, res := range m.Resources() {
		data, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s: %v", res.CurId(), err)
		}
		var obj interface{ GetNamespace() string }
		switch gvk := res.GetGvk(); gvk.ApiVersion() + "/" + gvk.Kind {
		case "apps/v1/Deployment":
			o := &appsv1.Deployment{}
			r.deployments, obj = append(r.deployments, o), o
		case "apps/v1/StatefulSet":
			o := &appsv1.StatefulSet{}
			r.statefulSets, obj = append(r.statefulSets, o), o
		case "v1/Service":
			o := &corev1.Service{}
			r.services, obj = append(r.services, o), o
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			r.accounts, obj = append(r.accounts, o), o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			r.configMaps, obj = append(r.configMaps, o), o
		case "policy/v1/PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			r.pdbs, obj = append(r.pdbs, o), o
		case "autoscaling/v2/HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			r.hpas, obj = append(r.hpas, o), o
		case "networking.k8s.io/v1/NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			r.policies, obj = append(r.policies, o), o
		case "networking.k8s.io/v1/Ingress":
			o := &networkingv1.Ingress{}
			r.ingresses, obj = append(r.ingresses, o), o
		default:
			t.Fatalf("%s: unexpected kind %s (add it to the test)", dir, gvk)
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			t.Fatalf("%s: strict decode of %s: %v", dir, res.CurId(), err)
		}
		if r.namespace == "" {
			r.namespace = obj.GetNamespace()
		} else if obj.GetNamespace() != r.namespace {
			t.Errorf("%s: %s is in namespace %q, others in %q", dir, res.CurId(), obj.GetNamespace(), r.namespace)
		}
	}
	return r
}

// workload is a pod template with where it comes from.
type workload struct {
	kind, name string
	replicas   int32
	template   *corev1.PodTemplateSpec
}

func (r *rendered) workloads() []workload {
	var w []workload
	for _, d := range r.deployments {
		w = append(w, workload{"Deployment", d.Name, deref(d.Spec.Replicas, 1), &d.Spec.Template})
	}
	for _, s := range r.statefulSets {
		w = append(w, workload{"StatefulSet", s.Name, deref(s.Spec.Replicas, 1), &s.Spec.Template})
	}
	return w
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func (r *rendered) deployment(name string) *appsv1.Deployment {
	for _, d := range r.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

var overlays = []struct {
	name      string
	replicas  func(int32) bool
	hpaMin    func(int32) bool
	redis     string   // the peer name of Redis in the network policy edges
	redisPort []string // the Redis ports the services may reach
}{
	{"single-node", func(n int32) bool { return n == 1 }, func(n int32) bool { return n == 1 }, "redis", []string{"TCP/6379"}},
	{"production", func(n int32) bool { return n >= 2 }, func(n int32) bool { return n >= 2 }, "cidr:10.20.0.0/24", []string{"TCP/6379", "TCP/26379"}},
}

func TestOverlays(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			r := render(t, filepath.Join("overlays", o.name))
			if r.namespace != "polku" {
				t.Errorf("namespace %q, want polku", r.namespace)
			}
			checkPods(t, r)
			checkComponents(t, r)
			checkServices(t, r)
			checkConfig(t, r)
			for _, d := range r.deployments {
				if n := deref(d.Spec.Replicas, 1); !o.replicas(n) {
					t.Errorf("Deployment %s: %d replicas", d.Name, n)
				}
			}
			for _, h := range r.hpas {
				if n := deref(h.Spec.MinReplicas, 1); !o.hpaMin(n) || h.Spec.MaxReplicas < n {
					t.Errorf("HPA %s: min %d max %d", h.Name, n, h.Spec.MaxReplicas)
				}
			}
			checkEdges(t, r, expectedEdges(r, o.redis, o.redisPort))
			switch o.name {
			case "single-node":
				checkRedisStatefulSet(t, r)
			case "production":
				checkProduction(t, r)
			}
		})
	}
}

// TestCollector renders the OpenTelemetry collector and applies the pod rules.
func TestCollector(t *testing.T) {
	r := render(t, "otel-collector")
	checkPods(t, r)
	checkServices(t, r)
	if len(r.deployments) != 1 || len(r.configMaps) != 1 {
		t.Fatalf("want one collector Deployment and its ConfigMap, got %d, %d", len(r.deployments), len(r.configMaps))
	}
	cfg := ""
	for _, v := range r.configMaps[0].Data {
		cfg += v
	}
	for _, want := range []string{"0.0.0.0:4317", "keep_matching_keys", `polku\\.`, "otlp/backend"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("collector config lacks %q", want)
		}
	}
}

// checkPods: every container of every workload has both probes, requests and
// limits, and the restricted security context; pods run under their own
// ServiceAccount without an API token and with an image without a registry host.
func checkPods(t *testing.T, r *rendered) {
	t.Helper()
	accounts := map[string]*corev1.ServiceAccount{}
	for _, a := range r.accounts {
		accounts[a.Name] = a
		if a.AutomountServiceAccountToken == nil || *a.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", a.Name)
		}
	}
	for _, w := range r.workloads() {
		id := w.kind + " " + w.name
		spec := &w.template.Spec
		if spec.ServiceAccountName == "" || accounts[spec.ServiceAccountName] == nil {
			t.Errorf("%s: ServiceAccount %q is not rendered", id, spec.ServiceAccountName)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken must be false", id)
		}
		psc := spec.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if w.kind == "Deployment" && len(spec.TopologySpreadConstraints) == 0 {
			t.Errorf("%s: no topologySpreadConstraints", id)
		}
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			cid := id + " container " + c.Name
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s: needs liveness and readiness probes", cid)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, okReq := c.Resources.Requests[res]
				lim, okLim := c.Resources.Limits[res]
				if !okReq || !okLim {
					t.Errorf("%s: %s needs a request and a limit", cid, res)
				} else if req.Cmp(lim) > 0 {
					t.Errorf("%s: %s request %s above limit %s", cid, res, req.String(), lim.String())
				}
			}
			if host, _, ok := strings.Cut(c.Image, "/"); ok && strings.ContainsAny(host, ".:") || host == "localhost" {
				t.Errorf("%s: image %q names a registry host; set it in the region's overlay", cid, c.Image)
			}
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s: no securityContext", cid)
				continue
			}
			if !deref(sc.RunAsNonRoot, deref(psc.RunAsNonRoot, false)) {
				t.Errorf("%s: runAsNonRoot must be true", cid)
			}
			if uid := sc.RunAsUser; uid != nil && *uid == 0 || uid == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
				t.Errorf("%s: runs as uid 0", cid)
			}
			if !deref(sc.ReadOnlyRootFilesystem, false) {
				t.Errorf("%s: readOnlyRootFilesystem must be true", cid)
			}
			if deref(sc.AllowPrivilegeEscalation, true) {
				t.Errorf("%s: allowPrivilegeEscalation must be false", cid)
			}
			if deref(sc.Privileged, false) {
				t.Errorf("%s: privileged", cid)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities must drop ALL and add none", cid)
			}
			sp := sc.SeccompProfile
			if sp == nil {
				sp = psc.SeccompProfile
			}
			if sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: seccompProfile must be RuntimeDefault", cid)
			}
		}
	}
}

// checkComponents: each of the seven components has its Deployment with the right
// probes, a Service, a PodDisruptionBudget and a HorizontalPodAutoscaler.
func checkComponents(t *testing.T, r *rendered) {
	t.Helper()
	for c, port := range components {
		name := "polku-" + c
		d := r.deployment(name)
		if d == nil {
			t.Errorf("no Deployment %s", name)
			continue
		}
		pod := labels.Set(d.Spec.Template.Labels)
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(pod) {
			t.Errorf("Deployment %s: selector does not match its pod labels", name)
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Errorf("Deployment %s: want one container", name)
			continue
		}
		ctr := d.Spec.Template.Spec.Containers[0]
		for kind, p := range map[string]*corev1.Probe{"liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe} {
			if p == nil {
				continue // reported by checkPods
			}
			if paths, ok := httpProbes[c]; ok {
				want := paths[kind]
				if p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.IntValue() != int(port) {
					t.Errorf("%s: %s probe must be HTTP GET %s on %d", name, kind, want, port)
				}
			} else if p.GRPC == nil || p.GRPC.Port != port {
				t.Errorf("%s: %s probe must be gRPC health on %d", name, kind, port)
			} else if got, want := deref(p.GRPC.Service, ""), map[string]string{"liveness": livenessService(t), "readiness": ""}[kind]; got != want {
				// Readiness ("") follows the store; liveness must not, or a Redis
				// outage restarts every pod.
				t.Errorf("%s: %s probe asks health service %q, want %q", name, kind, got, want)
			}
		}
		if slices.Contains(noTelemetry, c) {
			checkNoMetrics(t, name, d.Spec.Template.Annotations, ctr)
		} else {
			checkMetrics(t, name, d.Spec.Template.Annotations, ctr)
		}
		found := false
		for _, p := range r.pdbs {
			s, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			found = found || err == nil && !s.Empty() && s.Matches(pod)
		}
		if !found {
			t.Errorf("Deployment %s: no PodDisruptionBudget", name)
		}
		found = false
		for _, h := range r.hpas {
			ref := h.Spec.ScaleTargetRef
			found = found || ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && ref.Name == name
		}
		if !found {
			t.Errorf("Deployment %s: no HorizontalPodAutoscaler", name)
		}
		found = false
		for _, s := range r.services {
			found = found || s.Name == c && labels.SelectorFromSet(s.Spec.Selector).Matches(pod)
		}
		if !found {
			t.Errorf("Deployment %s: no Service %q selecting it", name, c)
		}
	}
}

// livenessService is the health name the servers keep SERVING through a store
// outage, read from platform/grpcserver so the probes cannot drift from it.
func livenessService(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "platform", "grpcserver", "grpcserver.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const LivenessService = "([^"]+)"`).FindSubmatch(src)
	if m == nil {
		t.Fatal("platform/grpcserver/grpcserver.go: const LivenessService not found")
	}
	return string(m[1])
}

// checkMetrics: the container exposes the metrics port and the pod's scrape
// annotations point at it.
func checkMetrics(t *testing.T, name string, ann map[string]string, ctr corev1.Container) {
	t.Helper()
	found := false
	for _, p := range ctr.Ports {
		found = found || p.Name == "metrics" && p.ContainerPort == metricsPort
	}
	if !found {
		t.Errorf("%s: no container port metrics %d", name, metricsPort)
	}
	want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(metricsPort), "prometheus.io/path": "/metrics"}
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("%s: pod annotation %s = %q, want %q", name, k, ann[k], v)
		}
	}
}

// checkNoMetrics: a component without metrics neither exposes the port nor asks
// to be scraped.
func checkNoMetrics(t *testing.T, name string, ann map[string]string, ctr corev1.Container) {
	t.Helper()
	for _, p := range ctr.Ports {
		if p.Name == "metrics" || p.ContainerPort == metricsPort {
			t.Errorf("%s: container port %s %d, but the binary serves no metrics", name, p.Name, p.ContainerPort)
		}
	}
	for k := range ann {
		if strings.HasPrefix(k, "prometheus.io/") {
			t.Errorf("%s: pod annotation %s, but the binary serves no metrics", name, k)
		}
	}
}

// checkServices: every Service selects the pods of a Deployment or StatefulSet and
// targets one of their container ports.
func checkServices(t *testing.T, r *rendered) {
	t.Helper()
	for _, s := range r.services {
		if len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s: no selector", s.Name)
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var match *workload
		for _, w := range r.workloads() {
			if sel.Matches(labels.Set(w.template.Labels)) {
				w := w
				match = &w
			}
		}
		if match == nil {
			t.Errorf("Service %s: selector %v matches no Deployment or StatefulSet", s.Name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			ok := false
			for _, c := range match.template.Spec.Containers {
				for _, cp := range c.Ports {
					ok = ok || cp.ContainerPort == p.TargetPort.IntVal || cp.Name == p.TargetPort.StrVal && cp.Name != ""
				}
			}
			if !ok {
				t.Errorf("Service %s: target port %s is not a container port of %s %s", s.Name, p.TargetPort.String(), match.kind, match.name)
			}
		}
	}
}

// checkConfig: the ConfigMap points each *_TARGET at a rendered Service and port,
// holds no secrets, and the secret settings come from Secrets.
func checkConfig(t *testing.T, r *rendered) {
	t.Helper()
	var cm *corev1.ConfigMap
	for _, c := range r.configMaps {
		if c.Name == "polku-config" {
			cm = c
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap polku-config")
	}
	for c, port := range components {
		if slices.Contains(public, c) {
			continue
		}
		key := "POLKU_" + strings.ToUpper(c) + "_TARGET"
		if got, want := cm.Data[key], fmt.Sprintf("%s:%d", c, port); got != want {
			t.Errorf("ConfigMap %s = %q, want %q", key, got, want)
		}
	}
	if got, want := cm.Data["POLKU_WEB_GATEWAY_URL"], fmt.Sprintf("http://gateway:%d", components["gateway"]); got != want {
		t.Errorf("ConfigMap POLKU_WEB_GATEWAY_URL = %q, want %q (the gateway Service)", got, want)
	}
	if got, want := cm.Data["POLKU_WEB_ADDR"], fmt.Sprintf(":%d", components["web"]); got != want {
		t.Errorf("ConfigMap POLKU_WEB_ADDR = %q, want %q (the web container port)", got, want)
	}
	// web/cmd/web refuses to start without these.
	if cm.Data["POLKU_WEB_OIDC_CLIENT_ID"] == "" {
		t.Error("ConfigMap POLKU_WEB_OIDC_CLIENT_ID is empty: the web UI requires it")
	}
	for _, k := range []string{"POLKU_WEB_OIDC_ISSUER", "POLKU_WEB_OIDC_REDIRECT_URL"} {
		if !strings.HasPrefix(cm.Data[k], "https://") {
			t.Errorf("ConfigMap %s = %q: the web UI requires an https URL", k, cm.Data[k])
		}
	}
	if got, want := cm.Data["POLKU_TIMELINE_SOURCES"], "catalogue:8,assessment:16,budget:16,referral:16"; got != want {
		t.Errorf("ConfigMap POLKU_TIMELINE_SOURCES = %q, want %q (the stores polku dev feeds the timeline from)", got, want)
	}
	if got, want := cm.Data["POLKU_METRICS_ADDR"], fmt.Sprintf(":%d", metricsPort); got != want {
		t.Errorf("ConfigMap POLKU_METRICS_ADDR = %q, want %q (the metrics container port)", got, want)
	}
	for k := range cm.Data {
		if slices.Contains(secretEnv, k) || strings.HasSuffix(k, "_KEY") || strings.HasSuffix(k, "_PASSWORD") || strings.Contains(k, "TOKEN") {
			t.Errorf("ConfigMap holds %s: it belongs in a Secret", k)
		}
	}
	for _, d := range r.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		want := []string{"POLKU_JWKS_URL", "POLKU_JWT_ISSUER", "POLKU_JWT_AUDIENCE"}
		if slices.Contains(services, strings.TrimPrefix(d.Name, "polku-")) {
			want = append(want, "POLKU_REDIS_PASSWORD")
		}
		if d.Name == "polku-clients" {
			want = append(want, "POLKU_PIC_KEY", "POLKU_PIC_OLD_KEYS")
		}
		if d.Name == "polku-web" {
			want = append(want, "POLKU_WEB_SESSION_KEY", "POLKU_WEB_OIDC_CLIENT_SECRET")
			// The session key is required (the binary refuses to start without
			// it); the client secret is optional (a public client uses PKCE only).
			if e := env["POLKU_WEB_SESSION_KEY"]; e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
				(e.ValueFrom.SecretKeyRef.Name != "polku-web" || deref(e.ValueFrom.SecretKeyRef.Optional, false)) {
				t.Errorf("polku-web: POLKU_WEB_SESSION_KEY must come from the Secret polku-web, not optional")
			}
		}
		for _, k := range want {
			if e, ok := env[k]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: %s must come from a secretKeyRef", d.Name, k)
			}
		}
		if d.Name == "polku-referral" {
			file := env["POLKU_REFERRAL_SERVICE_TOKEN_FILE"].Value
			mounted := false
			for _, m := range c.VolumeMounts {
				if !strings.HasPrefix(file, m.MountPath+"/") {
					continue
				}
				for _, v := range d.Spec.Template.Spec.Volumes {
					mounted = mounted || v.Name == m.Name && v.Secret != nil
				}
			}
			if !mounted {
				t.Errorf("polku-referral: POLKU_REFERRAL_SERVICE_TOKEN_FILE %q is not in a mounted Secret", file)
			}
		}
	}
}

func checkRedisStatefulSet(t *testing.T, r *rendered) {
	t.Helper()
	for _, s := range r.statefulSets {
		if s.Name != "redis" {
			continue
		}
		args := strings.Join(append(slices.Clone(s.Spec.Template.Spec.Containers[0].Command), s.Spec.Template.Spec.Containers[0].Args...), " ")
		if !strings.Contains(args, "--appendonly yes") {
			t.Errorf("redis: not started with --appendonly yes: %s", args)
		}
		// One Redis, no replica: an acknowledged money move must be on disk.
		if !strings.Contains(args, "--appendfsync always") {
			t.Errorf("redis: not started with --appendfsync always: %s", args)
		}
		if len(s.Spec.VolumeClaimTemplates) == 0 {
			t.Error("redis: no PersistentVolumeClaim template")
		}
		mounted := false
		for _, m := range s.Spec.Template.Spec.Containers[0].VolumeMounts {
			mounted = mounted || len(s.Spec.VolumeClaimTemplates) > 0 && m.Name == s.Spec.VolumeClaimTemplates[0].Name && strings.Contains(args, "--dir "+m.MountPath)
		}
		if !mounted {
			t.Error("redis: the data directory (--dir) is not the PersistentVolume")
		}
		return
	}
	t.Error("single-node has no Redis StatefulSet")
}

func checkProduction(t *testing.T, r *rendered) {
	t.Helper()
	if len(r.statefulSets) != 0 {
		t.Error("production runs no Redis of its own")
	}
	if len(r.ingresses) != 1 {
		t.Fatal("production needs one Ingress")
	}
	ing := r.ingresses[0]
	tls := map[string]bool{} // hosts with a certificate
	for _, c := range ing.Spec.TLS {
		for _, h := range c.Hosts {
			tls[h] = c.SecretName != ""
		}
	}
	// Each rule is one host sending every path to one public component's Service;
	// each public component has exactly one host, with TLS.
	hosts := map[string]string{} // component -> host
	for _, rule := range ing.Spec.Rules {
		if rule.Host == "" || !tls[rule.Host] {
			t.Errorf("Ingress host %q has no TLS certificate", rule.Host)
		}
		if rule.HTTP == nil {
			t.Errorf("Ingress host %q has no paths", rule.Host)
			continue
		}
		for _, p := range rule.HTTP.Paths {
			b := p.Backend.Service
			if b == nil || !slices.Contains(public, b.Name) || b.Port.Number != components[b.Name] {
				t.Errorf("Ingress %s%s must go to a public component's Service and port (%v)", rule.Host, p.Path, public)
				continue
			}
			if h, ok := hosts[b.Name]; ok && h != rule.Host {
				t.Errorf("Ingress: %s is on two hosts, %s and %s", b.Name, h, rule.Host)
			}
			hosts[b.Name] = rule.Host
		}
	}
	for _, c := range public {
		if hosts[c] == "" {
			t.Errorf("Ingress has no host for %s", c)
		}
	}
	if hosts["web"] != "" && hosts["web"] == hosts["gateway"] {
		t.Errorf("Ingress: the web UI and the gateway share host %s (the UI's cookie must stay on its own host)", hosts["web"])
	}
	for _, cm := range r.configMaps {
		if cm.Name != "polku-config" {
			continue
		}
		if !strings.Contains(cm.Data["OTEL_EXPORTER_OTLP_ENDPOINT"], "otel-collector") {
			t.Error("production: OTEL_EXPORTER_OTLP_ENDPOINT does not point at the collector")
		}
		if got, want := cm.Data["POLKU_WEB_OIDC_REDIRECT_URL"], "https://"+hosts["web"]+"/signin/callback"; got != want {
			t.Errorf("production: POLKU_WEB_OIDC_REDIRECT_URL = %q, want %q (the web UI's Ingress host)", got, want)
		}
	}
}

// edge is one allowed connection: from and to are pod names (app.kubernetes.io/name)
// in the namespace, or an outside peer ("*", "kube-dns", "otel-collector", "cidr:...").
type edge struct{ from, to, port string }

func (e edge) String() string { return e.from + " -> " + e.to + " " + e.port }

func expectedEdges(r *rendered, redis string, redisPorts []string) map[edge]bool {
	want := map[edge]bool{}
	for _, c := range public {
		want[edge{"*", "polku-" + c, fmt.Sprintf("TCP/%d", components[c])}] = true
	}
	// Every component verifies tokens against the identity provider's JWKS.
	for c := range components {
		want[edge{"polku-" + c, identityProvider, "TCP/443"}] = true
	}
	for from, tos := range calls {
		for _, to := range tos {
			want[edge{"polku-" + from, "polku-" + to, fmt.Sprintf("TCP/%d", components[to])}] = true
		}
	}
	for _, s := range services {
		for _, p := range redisPorts {
			want[edge{"polku-" + s, redis, p}] = true
		}
	}
	for c := range components {
		if slices.Contains(noTelemetry, c) {
			continue
		}
		want[edge{"polku-" + c, "otel-collector", "TCP/4317"}] = true
		want[edge{"prometheus", "polku-" + c, fmt.Sprintf("TCP/%d", metricsPort)}] = true
	}
	for _, w := range r.workloads() {
		name := w.template.Labels["app.kubernetes.io/name"]
		want[edge{name, "kube-dns", "UDP/53"}] = true
		want[edge{name, "kube-dns", "TCP/53"}] = true
	}
	return want
}

// checkEdges computes what the NetworkPolicies allow, as a CNI would: a pod
// selected by no policy of a direction is open in that direction (and reported);
// otherwise the union of the rules of its policies. A connection between two pods
// of the namespace needs the caller's egress and the callee's ingress; a rule on
// one side only is reported as half open. The result must equal want exactly.
func checkEdges(t *testing.T, r *rendered, want map[edge]bool) {
	t.Helper()
	defaultDeny := false
	for _, p := range r.policies {
		defaultDeny = defaultDeny || len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) &&
			len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0
	}
	if !defaultDeny {
		t.Error("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
	}
	pods := map[string]labels.Set{}
	for _, w := range r.workloads() {
		name := w.template.Labels["app.kubernetes.io/name"]
		if name == "" {
			t.Fatalf("%s %s: pods have no app.kubernetes.io/name label", w.kind, w.name)
		}
		pods[name] = w.template.Labels
	}
	selectorOf := func(ls *metav1.LabelSelector) labels.Selector {
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Fatalf("bad selector %v: %v", ls, err)
		}
		return s
	}
	// peers resolves a rule's peers to names; nil peers means anywhere.
	peers := func(ps []networkingv1.NetworkPolicyPeer) []string {
		if len(ps) == 0 {
			return []string{"*"}
		}
		var out []string
		for _, p := range ps {
			switch {
			case p.IPBlock != nil:
				if len(p.IPBlock.Except) > 0 {
					t.Errorf("ipBlock %s: except is not modelled by the test", p.IPBlock.CIDR)
				}
				out = append(out, "cidr:"+p.IPBlock.CIDR)
			case p.NamespaceSelector != nil:
				ns, pod := selectorOf(p.NamespaceSelector).String(), selectorOf(p.PodSelector).String()
				switch ns + " " + pod {
				case "kubernetes.io/metadata.name=kube-system k8s-app=kube-dns":
					out = append(out, "kube-dns")
				case "kubernetes.io/metadata.name=polku-observability app.kubernetes.io/name=otel-collector":
					out = append(out, "otel-collector")
				case "kubernetes.io/metadata.name=monitoring app.kubernetes.io/name=prometheus":
					out = append(out, "prometheus")
				default:
					out = append(out, "ns("+ns+")/pods("+pod+")")
				}
			default:
				sel, n := selectorOf(p.PodSelector), 0
				for name, l := range pods {
					if sel.Matches(l) {
						out, n = append(out, name), n+1
					}
				}
				if n == 0 {
					out = append(out, "unmatched-pods("+sel.String()+")")
				}
			}
		}
		return out
	}
	ports := func(ps []networkingv1.NetworkPolicyPort) []string {
		if len(ps) == 0 {
			t.Error("a rule without ports allows every port")
			return []string{"*"}
		}
		var out []string
		for _, p := range ps {
			if p.Port == nil || p.Port.IntVal == 0 || p.EndPort != nil {
				t.Errorf("rule port %v: use one numeric port per entry", p.Port)
				continue
			}
			out = append(out, fmt.Sprintf("%s/%d", deref(p.Protocol, corev1.ProtocolTCP), p.Port.IntVal))
		}
		return out
	}
	type half struct{ peer, port string }
	egress := map[string]map[half]bool{}  // pod -> allowed destinations
	ingress := map[string]map[half]bool{} // pod -> allowed sources
	for name, l := range pods {
		isolatedIn, isolatedOut := false, false
		egress[name], ingress[name] = map[half]bool{}, map[half]bool{}
		for _, p := range r.policies {
			if !selectorOf(&p.Spec.PodSelector).Matches(l) {
				continue
			}
			types := p.Spec.PolicyTypes
			if slices.Contains(types, networkingv1.PolicyTypeIngress) {
				isolatedIn = true
				for _, rule := range p.Spec.Ingress {
					for _, from := range peers(rule.From) {
						for _, port := range ports(rule.Ports) {
							ingress[name][half{from, port}] = true
						}
					}
				}
			}
			if slices.Contains(types, networkingv1.PolicyTypeEgress) {
				isolatedOut = true
				for _, rule := range p.Spec.Egress {
					for _, to := range peers(rule.To) {
						for _, port := range ports(rule.Ports) {
							egress[name][half{to, port}] = true
						}
					}
				}
			}
		}
		if !isolatedIn || !isolatedOut {
			t.Errorf("pod %s is not isolated by a NetworkPolicy (ingress %v, egress %v)", name, isolatedIn, isolatedOut)
		}
	}
	got := map[edge]bool{}
	for from, hs := range egress {
		for h := range hs {
			if _, inside := pods[h.peer]; !inside {
				got[edge{from, h.peer, h.port}] = true
			} else if ingress[h.peer][half{from, h.port}] || ingress[h.peer][half{"*", h.port}] {
				got[edge{from, h.peer, h.port}] = true
			} else {
				t.Errorf("half open: %s may send to %s %s but %s does not accept it", from, h.peer, h.port, h.peer)
			}
		}
	}
	for to, hs := range ingress {
		for h := range hs {
			if _, inside := pods[h.peer]; !inside {
				got[edge{h.peer, to, h.port}] = true
			} else if !egress[h.peer][half{to, h.port}] {
				t.Errorf("half open: %s accepts %s %s but %s may not send it", to, h.peer, h.port, h.peer)
			}
		}
	}
	var extra, missing []string
	for e := range got {
		if !want[e] {
			extra = append(extra, e.String())
		}
	}
	for e := range want {
		if !got[e] {
			missing = append(missing, e.String())
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	for _, e := range extra {
		t.Errorf("NetworkPolicies allow an edge that is not in the call graph: %s", e)
	}
	for _, e := range missing {
		t.Errorf("NetworkPolicies do not allow the needed edge: %s", e)
	}
}
