package deploy

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// composeFile is compose.yaml as Compose reads it: anchors and merge keys
// resolved, variables not yet substituted.
func composeFile(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return doc
}

// TestComposeMatchesTheSpecification validates compose.yaml against the
// Compose Specification's schema (testdata/compose-spec.json).
func TestComposeMatchesTheSpecification(t *testing.T) {
	f, err := os.Open("testdata/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as the schema sees documents.
	b, err := json.Marshal(composeFile(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("compose.yaml does not follow the Compose Specification:\n%v", err)
	}
}

// defaulted substitutes ${NAME:-default} with its default, as Compose does
// when NAME is unset.
var defaulted = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)

// composeService is the part of a service these tests read.
type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	ReadOnly        bool   `yaml:"read_only"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(defaulted.ReplaceAll(raw, []byte("$1")), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]composeService{}
	for name, node := range doc.Services {
		var s composeService
		_ = node.Decode(&s) // depends_on as a list (the balancer's) is not read here
		out[name] = s
	}
	return out
}

// TestComposeReplicasStart loads each replica's environment and the
// configuration file it mounts as the binary does, in production.
func TestComposeReplicasStart(t *testing.T) {
	services := composeServices(t)
	var replicas []string
	for name, s := range services {
		if !slices.Equal(s.Command, []string{"serve"}) {
			continue
		}
		replicas = append(replicas, name)
		file := ""
		if path := s.Environment["HANDHELD_CONFIG_FILE"]; path != "" {
			file = mountedFile(t, name, s.Volumes, path)
		}
		cfg := loadSettings(t, "compose.yaml service "+name, s.Environment, file)
		if cfg.Profile != "production" {
			t.Errorf("%s runs the %s profile; the compose setup is there to try production's", name, cfg.Profile)
		}
		if !s.ReadOnly {
			t.Errorf("%s has a writable root file system", name)
		}
		if s.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s may start before the migrations have run", name)
		}
		if cfg.CoreSecret != services["coresim"].Environment["HANDHELD_CORE_SECRET"] {
			t.Errorf("%s and the simulator do not share the core signing secret", name)
		}
		if cfg.Replicas != 2 {
			t.Errorf("%s: HANDHELD_REPLICAS = %d, want 2", name, cfg.Replicas)
		}
		// The balancer checks /readyz every 2 s: the replica stays unready
		// long enough for it to notice before the listener closes, and
		// Compose waits for the drain and the deliveries under way.
		if cfg.DrainDelay < 2*time.Second {
			t.Errorf("%s: HANDHELD_DRAIN_DELAY %s is shorter than the balancer's 2 s health interval", name, cfg.DrainDelay)
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if need := cfg.DrainDelay + cfg.ShutdownTimeout + cfg.OutboxLease*2/3; err != nil || grace < need {
			t.Errorf("%s: stop_grace_period %q < HANDHELD_DRAIN_DELAY + HANDHELD_SHUTDOWN_TIMEOUT + two thirds of the outbox lease (%s)", name, s.StopGracePeriod, need)
		}
	}
	slices.Sort(replicas)
	if len(replicas) != 2 {
		t.Fatalf("compose.yaml serves %d replicas (%v), want 2", len(replicas), replicas)
	}
	caddy, err := os.ReadFile("compose/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range replicas {
		if !strings.Contains(string(caddy), name+":8080") {
			t.Errorf("the balancer does not send requests to %s", name)
		}
	}
	for _, job := range []string{"keys", "migrate"} {
		s := services[job]
		loadSettings(t, "compose.yaml service "+job, s.Environment, mountedFile(t, job, s.Volumes, s.Environment["HANDHELD_CONFIG_FILE"]))
	}
}

// mountedFile is the content of the file a service sees at path, from its
// bind mounts.
func mountedFile(t *testing.T, service string, volumes []string, path string) string {
	t.Helper()
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == path && strings.HasPrefix(parts[0], ".") {
			b, err := os.ReadFile(filepath.FromSlash(parts[0]))
			if err != nil {
				t.Fatalf("%s mounts %s: %v", service, parts[0], err)
			}
			return string(b)
		}
	}
	t.Fatalf("%s: nothing is mounted at %s", service, path)
	return ""
}

// TestImageBuildsWhatTheBinaryNeeds checks the Containerfile against the
// binary: its build stage copies every directory the binary's packages
// live in, builds statically, and the image runs as 65532.
func TestImageBuildsWhatTheBinaryNeeds(t *testing.T) {
	raw, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	file := string(raw)
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "handheld/bff/cmd/handheld").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dirs := map[string]bool{}
	for _, pkg := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(pkg, "handheld/"); ok {
			dirs[strings.Split(rest, "/")[0]] = true
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		if !regexp.MustCompile(`(?m)^COPY ` + dir + ` ` + dir + `$`).MatchString(file) {
			t.Errorf("the binary is built from %s/, which the Containerfile does not copy", dir)
		}
	}
	stages := strings.Split(file, "\nFROM ")
	final := stages[len(stages)-1]
	for _, want := range []string{"scratch\n", "\nUSER 65532:65532\n", `ENTRYPOINT ["/handheld"]`, "ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"} {
		if !strings.Contains(final, want) {
			t.Errorf("the final stage lacks %q", want)
		}
	}
	if strings.Contains(final, "\nRUN ") {
		t.Error("the final stage runs a command: a scratch image has nothing to run it with")
	}
	if !strings.Contains(file, "CGO_ENABLED=0 go build -trimpath") {
		t.Error("the binary is not built statically with -trimpath")
	}
}
