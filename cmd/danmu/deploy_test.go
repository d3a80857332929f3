package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// deployDir holds the deploy files, seen from this package.
const deployDir = "../../deploy"

// yamlDocs decodes every document of the YAML file at path.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, len(docs)+1, err)
		}
		docs = append(docs, doc)
	}
}

// dig follows keys (map keys, or list indexes as ints) into v.
func dig(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// envOf returns the env list of a Kubernetes container as a map.
func envOf(container any) map[string]string {
	env := map[string]string{}
	list, _ := dig(container, "env").([]any)
	for _, e := range list {
		name, _ := dig(e, "name").(string)
		value, _ := dig(e, "value").(string)
		env[name] = value
	}
	return env
}

func TestDeployCompose(t *testing.T) {
	docs := yamlDocs(t, filepath.Join(deployDir, "docker-compose.yml"))
	if len(docs) != 1 {
		t.Fatalf("docker-compose.yml has %d documents; want 1", len(docs))
	}
	services, _ := dig(docs[0], "services").(map[string]any)
	for name, command := range map[string]string{"edge1": "edge", "edge2": "edge", "ingest": "ingest"} {
		got, _ := dig(services, name, "command", 0).(string)
		if got != command {
			t.Errorf("service %s runs %q; want danmu %s", name, got, command)
		}
		if redis, _ := dig(services, name, "environment", "DANMU_REDIS").(string); redis != "redis:6379" {
			t.Errorf("service %s: DANMU_REDIS %q; want the redis service", name, redis)
		}
	}
	if services["redis"] == nil || services["haproxy"] == nil {
		t.Error("docker-compose.yml needs the services redis and haproxy")
	}
	for _, v := range dig(services, "haproxy", "volumes").([]any) {
		file, _, _ := strings.Cut(v.(string), ":")
		if !strings.HasPrefix(file, "./") {
			continue // a named volume
		}
		if _, err := os.Stat(filepath.Join(deployDir, file)); err != nil {
			t.Errorf("haproxy mounts %s: %v", file, err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(deployDir, "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mode tcp", "balance leastconn", "option httpchk GET /readyz", "check port 7090", "server edge1 edge1:7070", "server edge2 edge2:7070",
		"ssl crt ", "send-proxy-v2", "server ingest1 ingest:7080"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("haproxy.cfg has no %q", want)
		}
	}
}

func TestDeployKubernetes(t *testing.T) {
	kinds := map[string]map[string]any{}
	for _, file := range []string{"edge.yaml", "ingest.yaml"} {
		for _, doc := range yamlDocs(t, filepath.Join(deployDir, "kubernetes", file)) {
			kind, _ := doc["kind"].(string)
			name, _ := dig(doc, "metadata", "name").(string)
			kinds[kind+"/"+name] = doc
		}
	}
	for _, want := range []string{
		"Deployment/danmu-edge", "Service/danmu-edge", "HorizontalPodAutoscaler/danmu-edge",
		"Deployment/danmu-ingest", "Service/danmu-ingest",
	} {
		if kinds[want] == nil {
			t.Errorf("no %s in deploy/kubernetes", want)
		}
	}
	if typ := dig(kinds["Service/danmu-edge"], "spec", "type"); typ != "LoadBalancer" {
		t.Errorf("the edges' Service is %v; want a LoadBalancer (L4)", typ)
	}
	if target := dig(kinds["HorizontalPodAutoscaler/danmu-edge"], "spec", "scaleTargetRef", "name"); target != "danmu-edge" {
		t.Errorf("the HPA scales %v; want danmu-edge", target)
	}
	for _, name := range []string{"danmu-edge", "danmu-ingest"} {
		pod := dig(kinds["Deployment/"+name], "spec", "template", "spec")
		container := dig(pod, "containers", 0)
		if path := dig(container, "readinessProbe", "httpGet", "path"); path != "/readyz" {
			t.Errorf("%s: readiness probe on %v; want /readyz", name, path)
		}
		if path := dig(container, "livenessProbe", "httpGet", "path"); path != "/healthz" {
			t.Errorf("%s: liveness probe on %v; want /healthz", name, path)
		}
		preStop, _ := dig(container, "lifecycle", "preStop", "sleep", "seconds").(int)
		grace, _ := dig(pod, "terminationGracePeriodSeconds").(int)
		env := envOf(container)
		drain := parseDuration(t, env["DANMU_DRAIN_PERIOD"]) + parseDuration(t, env["DANMU_DRAIN_TIMEOUT"])
		if name == "danmu-ingest" {
			drain = shutdownTimeout
		}
		if preStop == 0 || time.Duration(grace)*time.Second <= time.Duration(preStop)*time.Second+drain {
			t.Errorf("%s: terminationGracePeriodSeconds %d; want more than preStop %d s + the drain %v", name, grace, preStop, drain)
		}
	}
}

func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

// TestDeployVariables: every DANMU_ variable the deploy files set is a
// real flag's.
func TestDeployVariables(t *testing.T) {
	known := map[string]bool{}
	var o options
	commandFlags("serve", commandRoles["serve"], &o).VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	variable := regexp.MustCompile(`DANMU_[A-Z0-9_]+`)
	err := filepath.WalkDir(deployDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range variable.FindAllString(string(data), -1) {
			if !known[name] {
				t.Errorf("%s sets %s, which no flag reads", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDashboardMetrics: the Grafana dashboard parses, and every metric its
// queries read is one that /metrics of a running node really exposes.
func TestDashboardMetrics(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "grafana", "danmu.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dashboard); err != nil {
		t.Fatalf("danmu.json: %v", err)
	}

	// A node with Redis, and activity enough that every labelled series
	// exists: a viewer that comes and goes, a comment, a refused post.
	srv := redistest.Start(t)
	n := startNode(t, "serve", "--redis", srv.Addr())
	v := watch(t, "v", n.wsAddr, "dash", "")
	waitHas(t, []*viewer{v}, []string{mustPost(t, n.apiAddr, "dash", "hello")})
	if res := post(n.apiAddr, "dash", ""); res.status != http.StatusBadRequest {
		t.Fatalf("empty post = %d; want 400", res.status)
	}
	if err := v.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")); err != nil {
		t.Fatal(err)
	}
	probe(n.adminAddr, "/readyz")
	var m metrics
	waitFor(t, waitTimeout, "the closed viewer to be counted", func() bool {
		m = scrape(t, n.adminAddr)
		return m["danmu_edge_connections_closed_total"] != nil
	})

	name := regexp.MustCompile(`\b(?:danmu|go|process)_[a-z0-9_]+\b`)
	queries := 0
	for _, p := range dashboard.Panels {
		for _, target := range p.Targets {
			queries++
			for _, metric := range name.FindAllString(target.Expr, -1) {
				if !exposes(m, metric) {
					t.Errorf("panel %q reads %s, which /metrics does not expose", p.Title, metric)
				}
			}
		}
	}
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
	var names []string
	for family := range m {
		if strings.HasPrefix(family, "danmu_") && !strings.Contains(string(data), family) {
			names = append(names, family)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		t.Errorf("the dashboard shows none of %v", names)
	}
}

// exposes reports whether a query's metric name is in m: a family, or a
// histogram's _bucket, _sum or _count series.
func exposes(m metrics, name string) bool {
	if m[name] != nil {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && m[base] != nil && m[base].GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}
