package admin

import "github.com/prometheus/client_golang/prometheus"

// BuildCollector exports danmu_build_info: always 1, with the binary's
// version, commit and Go version as labels, so that dashboards and alerts
// can tell which build every node runs.
func BuildCollector(version, commit, goVersion string) prometheus.Collector {
	c := &collector{}
	info := c.desc("", "build_info", "Always 1; the labels say which build this node runs.", "version", "commit", "goversion")
	c.collect = func(ch chan<- prometheus.Metric) {
		ch <- gauge(info, 1, version, commit, goVersion)
	}
	return c
}
