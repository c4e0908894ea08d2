package check

import "testing"

func TestOfflineHosts(t *testing.T) {
	o := &offline{allowed: map[string]bool{"192.0.2.10": true, "time.example.net": true, "harbor.corp.io": true}}
	for host, want := range map[string]bool{
		"192.0.2.10": true, "192.0.2.10:123": true, "time.example.net": true, "harbor.corp.io": true,
		"10.1.2.3": true, "172.16.0.1": true, "127.0.0.1": true, "[::1]:123": true, "fe80::1": true, "100.64.1.1": true,
		"mysql": true, "deepflow-server": true, "localhost": true, "ntp.internal": true, "harbor.local": true, "x.home.arpa": true,
		"ntp.cloud.aliyuncs.com": false, "8.8.8.8": false, "docker.io": false, "192.0.2.11": false, "grafana.com:443": false,
	} {
		if got := o.local(host); got != want {
			t.Errorf("local(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestHostOf(t *testing.T) {
	for _, c := range [][3]string{
		{"controller.trisolaris.chrony.host", "ntp.cloud.aliyuncs.com", "ntp.cloud.aliyuncs.com"},
		{"controller-ips[0]", "203.0.113.5", "203.0.113.5"},
		{"DEEPFLOW_REQUEST_URL", "http://apm.vendor.com:20416/x", "apm.vendor.com"},
		{"MYSQL_URL", "deepflow-mysql:30130", ""},
		{"app.spec.l7_tracing_limit", "100", ""},
		{"log-file", "/var/log/deepflow/app.log", ""},
		{"mysql.server", "8.0.39-debian", ""},
	} {
		if got := hostOf(c[0], c[1]); got != c[2] {
			t.Errorf("hostOf(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for _, c := range [][2]string{
		{"harbor.local/deepflow/mysql:8.0.39", "harbor.local"},
		{"127.0.0.1:5999/x/y:1", "127.0.0.1:5999"},
		{"deepflowce/deepflow-agent:v7.1", "docker.io"},
		{"grafana:10", "docker.io"},
		{"localhost/x:1", "localhost"},
	} {
		if got := registryHost(c[0]); got != c[1] {
			t.Errorf("registryHost(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}
