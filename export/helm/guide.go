package helmexport

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
)

var guideTmpl = template.Must(template.New(GuideFile).Funcs(template.FuncMap{
	"cell": func(s string) string { return strings.ReplaceAll(s, "|", `\|`) },
}).Parse(`<!-- {{ .Signature }} -->
# This deployment on Kubernetes, with DeepFlow's Helm charts

Exported from {{ .Source }}: DeepFlow {{ .Version }}, charts ` + "`{{ .ServerChart }}`" + ` and
` + "`{{ .AgentChart }}`" + ` version {{ .ChartVersion }}.

| file | for |
| --- | --- |
| ` + "`{{ .Values }}`" + ` | ` + "`{{ .ServerChart }}`" + `: images, time zone, time source, node ports, storage, server settings, agents. Safe to share. |
| ` + "`{{ .Secrets }}`" + ` | the MySQL, ClickHouse and Grafana passwords of this deployment (mode 0600). Keep it private. |
| ` + "`{{ .Agent }}`" + ` | ` + "`{{ .AgentChart }}`" + `: a cluster's agents reporting to this compose server at {{ .Controller }}. |

## Move the whole deployment into a cluster

` + "```" + `bash
helm repo add {{ .RepoName }} {{ .Repo }}
#   from mainland China: helm repo add {{ .RepoName }} {{ .RepoMirror }}
helm repo update {{ .RepoName }}
helm upgrade --install {{ .Release }} {{ .ServerChart }} --version {{ .ChartVersion }} \
  -n {{ .Namespace }} --create-namespace -f {{ .Values }} -f {{ .Secrets }}
kubectl -n {{ .Namespace }} get pods
` + "```" + `

Agents outside the cluster then dial any node's IP on these node ports:

| node port | for |
| --- | --- |
{{- range .NodePorts }}
| {{ .port }} | {{ .what }} |
{{- end }}

Nothing moves the compose deployment's data: the cluster starts empty.

## Or keep the compose server and add a cluster's agents

` + "```" + `bash
helm repo add {{ .RepoName }} {{ .Repo }}
helm repo update {{ .RepoName }}
helm upgrade --install {{ .AgentRelease }} {{ .AgentChart }} --version {{ .ChartVersion }} \
  -n {{ .AgentNamespace }} --create-namespace -f {{ .Agent }}
` + "```" + `

{{ if .Watcher -}}
This installs one watcher Deployment (` + "`deployComponent: [watcher]`" + `) that reports the
cluster's resources, and no DaemonSet: the nodes run agents as processes, as the
deployment's agent/ files set up.
{{- else -}}
This installs the agent DaemonSet on every node (` + "`deployComponent: [daemonset]`" + `).
{{- end }} The agents dial {{ .Controller }}; that port must be reachable from the
cluster's nodes.

## Offline

On a host with network access:

` + "```" + `bash
helm pull {{ .ServerChart }} --version {{ .ChartVersion }}   # deepflow-{{ .ChartVersion }}.tgz
helm pull {{ .AgentChart }} --version {{ .ChartVersion }}    # deepflow-agent-{{ .ChartVersion }}.tgz
deepflow-compose images {{ .ImagesArgs }} --output json      # every image these values name
` + "```" + `

Pull each image, push it to the registry the cluster uses (or ` + "`deepflow-compose bundle save`" + `,
then ` + "`bundle load --registry REGISTRY --push`" + `), render again with ` + "`--set registry=REGISTRY`" + `
and export again. Then install from the files instead of the repository:
` + "`helm upgrade --install {{ .Release }} ./deepflow-{{ .ChartVersion }}.tgz -n {{ .Namespace }} --create-namespace -f {{ .Values }} -f {{ .Secrets }}`" + `.
{{- if .Offline }}
Every pull policy is IfNotPresent, the chart's literal ones included.
{{- end }}
{{ with .Generated }}
## Generated passwords

No earlier render held {{ range $i, $g := . }}{{ if $i }}, {{ end }}` + "`{{ $g }}`" + `{{ end }}: this export generated
them, and they exist only in ` + "`{{ $.Secrets }}`" + `.
{{ end }}
## What the chart cannot carry

Every setting of the deployment without a chart value, and what the chart does instead:

| setting | value | in the chart |
| --- | --- | --- |
{{- range .Unmapped }}
| ` + "`{{ .Setting }}`" + ` | {{ cell .Value }} | {{ cell .Chart }} |
{{- end }}
`))

func (b *builder) guide() ([]byte, error) {
	// With render inputs, images takes the same inputs.
	images := "[the same --profile, --version, -f and --set]"
	if b.o.Dir != "" {
		images = filepath.Base(filepath.Clean(b.o.Dir))
	}
	var nps []map[string]any
	for _, np := range b.nodePorts {
		nps = append(nps, map[string]any{"port": np.port, "what": np.what})
	}
	data := map[string]any{
		"Signature": Signature, "Source": b.sourceName(), "Version": b.src.s.Version,
		"ServerChart": ServerChart, "AgentChart": AgentChart, "ChartVersion": b.chart.Version,
		"Values": ValuesFile, "Secrets": SecretsFile, "Agent": AgentValuesFile,
		"Controller": b.agentController.String(), "RepoName": ChartRepoName, "Repo": ChartRepo, "RepoMirror": ChartRepoMirror,
		"Release": b.e.Release, "Namespace": b.e.Namespace, "AgentRelease": AgentRelease, "AgentNamespace": AgentNamespace,
		"NodePorts": nps, "Watcher": b.deployComponent[0] == "watcher", "ImagesArgs": images,
		"Offline": b.src.s.Offline, "Generated": b.e.Generated, "Unmapped": b.e.Unmapped,
	}
	var out bytes.Buffer
	if err := guideTmpl.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("%s: %w", GuideFile, err)
	}
	return out.Bytes(), nil
}
