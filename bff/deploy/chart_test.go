package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"handheld/bff"
)

// helmTool is Helm, built from the Go module proxy and cached by Go's build
// cache: the first run compiles it (minutes), later runs start it at once.
const helmTool = "helm.sh/helm/v3/cmd/helm@v3.22.0"

// kubeVersion is the oldest Kubernetes the chart supports (Chart.yaml): the
// preStop sleep action needs 1.30.
const kubeVersion = "1.30.0"

// helmBinary is the path of Helm's executable in Go's build cache, found
// once per test binary: `go run -exec echo` builds it (or finds it built)
// and prints its path instead of running it. Each `go run` spends seconds
// loading the module graph before Helm starts; the tests run Helm directly.
//
// The run that compiles Helm prints a path in its temporary work directory,
// removed as go run exits, and only then stores the executable in the build
// cache: a second run finds it there and prints that path.
var helmBinary = sync.OnceValues(func() (string, error) {
	var bin string
	var statErr error
	for range 2 {
		var stderr bytes.Buffer
		cmd := exec.Command("go", "run", "-exec", "echo", helmTool)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go run %s: %v\n%s", helmTool, err, stderr.Bytes())
		}
		bin = strings.TrimSpace(string(out))
		if _, statErr = os.Stat(bin); statErr == nil {
			return bin, nil
		}
	}
	return "", fmt.Errorf("go run -exec echo %s printed %q, not Helm's executable: %v", helmTool, bin, statErr)
})

// helmCommand is a command that runs Helm with args.
func helmCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := helmBinary()
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, args...)
}

// helm runs Helm with its own empty home, so that nothing on the machine
// (repositories, plugins, a kubeconfig) changes what it says.
func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	cmd := helmCommand(t, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func TestChartLints(t *testing.T) {
	t.Parallel()
	out := helm(t, "lint", "--strict", "--kube-version", kubeVersion, "chart")
	if !bytes.Contains(out, []byte("0 chart(s) failed")) {
		t.Fatalf("helm lint:\n%s", out)
	}
}

// TestChartRefusesWrongValues checks that values.schema.json stops a
// misspelt value, or a setting the chart sets itself, before anything is
// rendered.
func TestChartRefusesWrongValues(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"autoscalin.enabled=false", "config.HANDHELD_SHUTDOWN_TIMEOUT=30s", "shutdown.drainSeconds=0"} {
		cmd := helmCommand(t, "template", "hh", "chart", "--kube-version", kubeVersion, "--set", set)
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("schema")) {
			t.Errorf("--set %s: helm template did not refuse it by the values schema (%v):\n%s", set, err, out)
		}
	}
}

// rendered is one release of the chart, strictly decoded into the
// Kubernetes API's own types.
type rendered struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
	configMaps map[string]*corev1.ConfigMap
	pdb        *policyv1.PodDisruptionBudget
	hpa        *autoscalingv2.HorizontalPodAutoscaler
	migrate    *batchv1.Job
}

// render runs helm template and decodes every object with unknown and
// duplicate fields refused: a misspelt or misplaced field fails here as the
// API server would refuse it.
func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out := helm(t, append([]string{"template", "hh", "chart", "--kube-version", kubeVersion}, args...)...)
	r := rendered{configMaps: map[string]*corev1.ConfigMap{}}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
			continue
		}
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		var obj any
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			r.deployment = &appsv1.Deployment{}
			obj = r.deployment
		case "v1 Service":
			r.service = &corev1.Service{}
			obj = r.service
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "policy/v1 PodDisruptionBudget":
			r.pdb = &policyv1.PodDisruptionBudget{}
			obj = r.pdb
		case "autoscaling/v2 HorizontalPodAutoscaler":
			r.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
			obj = r.hpa
		case "batch/v1 Job":
			r.migrate = &batchv1.Job{}
			obj = r.migrate
		default:
			// A Secret in particular: secrets are referenced, never rendered.
			t.Fatalf("the chart renders a %s %s this test does not know", head.APIVersion, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v\n%s", head.Kind, err, doc)
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			r.configMaps[cm.Name] = cm
		}
	}
	if r.deployment == nil || r.service == nil {
		t.Fatalf("the chart rendered no Deployment or Service:\n%s", out)
	}
	return r
}

func TestChartDefaults(t *testing.T) {
	t.Parallel()
	r := render(t)
	cfg := checkRelease(t, r, "")
	if r.hpa == nil || r.pdb == nil || r.migrate == nil {
		t.Fatal("the default release has no HorizontalPodAutoscaler, PodDisruptionBudget or migration Job")
	}
	if got, want := cfg.Replicas, int(*r.hpa.Spec.MinReplicas); got != want {
		t.Errorf("HANDHELD_REPLICAS = %d, want the autoscaler's minimum %d", got, want)
	}
	if r.deployment.Spec.Replicas != nil {
		t.Error("with autoscaling on the Deployment sets replicas, which every upgrade would reset")
	}
	if r.hpa.Spec.ScaleTargetRef.Kind != "Deployment" || r.hpa.Spec.ScaleTargetRef.Name != r.deployment.Name {
		t.Errorf("the autoscaler scales %v, not the Deployment %s", r.hpa.Spec.ScaleTargetRef, r.deployment.Name)
	}
	if r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() >= int(*r.hpa.Spec.MinReplicas) {
		t.Errorf("the disruption budget allows %v of at least %d replicas down: none would be left", r.pdb.Spec.MaxUnavailable, *r.hpa.Spec.MinReplicas)
	}
	if !selects(r.pdb.Spec.Selector.MatchLabels, r.deployment.Spec.Template.Labels) {
		t.Errorf("the disruption budget selects %v, not the pods %v", r.pdb.Spec.Selector.MatchLabels, r.deployment.Spec.Template.Labels)
	}
	job := r.migrate
	if hook := job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" {
		t.Errorf("the migration Job runs at %q, want before install and upgrade", hook)
	}
	if c := job.Spec.Template.Spec.Containers[0]; len(c.Args) != 1 || c.Args[0] != "migrate" || len(c.EnvFrom) != 0 {
		t.Errorf("the migration Job runs %v with envFrom %v: want `migrate` with its environment inline (its hook runs before the ConfigMap exists)", c.Args, c.EnvFrom)
	}
	jobEnv := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		jobEnv[e.Name] = e.Value
		if e.ValueFrom != nil {
			jobEnv[e.Name] = placeholder(t, e)
		}
	}
	loadSettings(t, "the migration Job", jobEnv, "")
	checkPod(t, "the migration Job", job.Spec.Template.Spec)
}

func TestChartWithoutAutoscalingAndWithAFile(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "autoscaling.enabled=false,replicaCount=3", "--set-file", "configFile=compose/handheld.yaml")
	cfg := checkRelease(t, r, "hh-handheld-file")
	if r.hpa != nil {
		t.Error("autoscaling off still renders an autoscaler")
	}
	if r.deployment.Spec.Replicas == nil || *r.deployment.Spec.Replicas != 3 || cfg.Replicas != 3 {
		t.Errorf("replicaCount=3 gives replicas %v and HANDHELD_REPLICAS %d", r.deployment.Spec.Replicas, cfg.Replicas)
	}
	if len(cfg.Verifiers) != 1 {
		t.Errorf("the configuration file's verifiers did not arrive: %v", cfg.Verifiers)
	}
}

// checkRelease checks what every release must hold and returns the
// configuration its server would run with; fileMap names the ConfigMap with
// the configuration file, if any.
func checkRelease(t *testing.T, r rendered, fileMap string) bff.Config {
	t.Helper()
	d := r.deployment
	pod := d.Spec.Template.Spec
	checkPod(t, "the Deployment", pod)
	if len(pod.Containers) != 1 {
		t.Fatalf("the Deployment runs %d containers, want the server alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	cm := r.configMaps[d.Name]
	if cm == nil || len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != cm.Name {
		t.Fatalf("the server does not read its environment from the ConfigMap %s: %v", d.Name, c.EnvFrom)
	}
	environ := map[string]string{}
	for k, v := range cm.Data {
		if secretSettings()[k] {
			t.Errorf("the ConfigMap holds %s, a secret: it belongs in the existing Secret", k)
		}
		environ[k] = v
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			t.Errorf("%s is set in the pod, not in the ConfigMap or a Secret", e.Name)
			continue
		}
		environ[e.Name] = placeholder(t, e)
	}
	file := ""
	if fileMap != "" {
		f := r.configMaps[fileMap]
		if f == nil {
			t.Fatalf("no ConfigMap %s with the configuration file", fileMap)
		}
		file = f.Data["handheld.yaml"]
		if !mounted(pod, c, "/etc/handheld", fileMap) || environ["HANDHELD_CONFIG_FILE"] != "/etc/handheld/handheld.yaml" {
			t.Errorf("the configuration file is not mounted where HANDHELD_CONFIG_FILE (%q) points", environ["HANDHELD_CONFIG_FILE"])
		}
	}
	cfg := loadSettings(t, "the chart's ConfigMap and Secret", environ, file)
	if cfg.Profile != "production" {
		t.Errorf("the chart runs the %s profile", cfg.Profile)
	}

	// Probes: liveness is the process alone; readiness is /readyz.
	port := containerPort(t, c, "http")
	if want := fmt.Sprintf(":%d", port); !strings.HasSuffix(cfg.Addr, want) {
		t.Errorf("HANDHELD_ADDR %s does not listen on the container port %d", cfg.Addr, port)
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}[name]
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on the http port", name, p, want)
		}
	}
	if p := c.ReadinessProbe; p != nil && time.Duration(p.TimeoutSeconds)*time.Second <= time.Second {
		t.Errorf("the readiness probe waits %d s; /readyz may take its 1 s per check", p.TimeoutSeconds)
	}

	// Shutdown: preStop, then the drain, then the deliveries under way,
	// all within the grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 1 {
		t.Fatalf("no preStop sleep: SIGTERM would arrive while load balancers still send requests")
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	need := preStop + cfg.ShutdownTimeout + cfg.OutboxLease*2/3
	if grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second; grace < need {
		t.Errorf("terminationGracePeriodSeconds %s < preStop %s + HANDHELD_SHUTDOWN_TIMEOUT %s + two thirds of HANDHELD_OUTBOX_LEASE %s",
			grace, preStop, cfg.ShutdownTimeout, cfg.OutboxLease)
	}

	// The Service reaches the pods on the port they serve.
	if !selects(r.service.Spec.Selector, d.Spec.Template.Labels) || !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("the Service (%v) or the Deployment (%v) does not select the pods %v", r.service.Spec.Selector, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	for _, p := range r.service.Spec.Ports {
		if p.TargetPort.String() != "http" {
			t.Errorf("the Service sends port %d to %s, not the http port", p.Port, p.TargetPort.String())
		}
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Error("a rollout may take a replica down before its successor is ready")
	}
	return cfg
}

// checkPod checks what every pod of the chart must hold: no root, a
// read-only root file system, the keys copied into memory, volumes that
// exist.
func checkPod(t *testing.T, what string, pod corev1.PodSpec) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("%s: the pod may run as root: %+v", what, sc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the pod gets a Kubernetes API token it never uses", what)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o007 != 0) {
			t.Errorf("%s: the Secret volume %s is readable by others", what, v.Name)
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		s := c.SecurityContext
		if s == nil || s.ReadOnlyRootFilesystem == nil || !*s.ReadOnlyRootFilesystem || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation ||
			s.Capabilities == nil || len(s.Capabilities.Drop) != 1 || s.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s: container %s is not locked down (read-only root, no privilege escalation, no capabilities): %+v", what, c.Name, s)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: container %s has no memory request or limit", what, c.Name)
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s: container %s mounts %s, which is no volume", what, c.Name, m.Name)
			}
		}
	}
	keys, ok := volumes["keys"]
	if !ok || keys.EmptyDir == nil || keys.EmptyDir.Medium != corev1.StorageMediumMemory {
		t.Errorf("%s: the keys are not kept in memory", what)
	}
	for _, purpose := range []string{"tokens", "ecard", "certificates", "shares", "sealing"} {
		if v, ok := volumes["keys-"+purpose]; !ok || v.Secret == nil || v.Secret.SecretName == "" {
			t.Errorf("%s: no Secret volume for the %s keys", what, purpose)
		}
	}
}

// placeholder is what a secret reference stands for in these tests; the
// reference must name its own setting, so the Secret reads like the docs.
func placeholder(t *testing.T, e corev1.EnvVar) string {
	t.Helper()
	ref := e.ValueFrom.SecretKeyRef
	if ref == nil || ref.Name == "" || ref.Key != e.Name {
		t.Errorf("%s is not read from the key of the same name in an existing Secret: %+v", e.Name, e.ValueFrom)
		return ""
	}
	v, ok := placeholders[e.Name]
	if !ok {
		t.Errorf("%s comes from a Secret, but this test has no placeholder for it", e.Name)
	}
	return v
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %s", c.Name, name)
	return 0
}

// mounted reports whether c mounts the ConfigMap configMap at path.
func mounted(pod corev1.PodSpec, c corev1.Container, path, configMap string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == configMap {
				return true
			}
		}
	}
	return false
}

// selects reports whether selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
