package console

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/console/clusterview"
)

// pipelineRefresh is how often the pipeline page reloads itself.
const pipelineRefresh = 5 * time.Second

// clusterTimeout bounds the Kafka reads of one operations page.
const clusterTimeout = 5 * time.Second

type pipelinePage struct {
	Stages []clusterview.Stage
	// Error says why Kafka could not be read ("" none).
	Error string
	// Behind names the stages falling behind.
	Behind []string
	// Settings is this process's configuration, secrets redacted (YAML).
	Settings string
	// RunStages are the stages this process runs.
	RunStages []string
	Refresh   int
	BehindLag int
	Read      time.Time
	// DeadLetters counts the dead letters of the latest read of each
	// dead-letter topic, per stage and reason, most first.
	DeadLetters  []reasonCount
	PerPartition int
	// Chart is the throughput and lag chart of the last chartWindow
	// (inline SVG, see chart.go).
	Chart template.HTML
}

// reasonCount is how many dead letters a stage wrote with one reason.
type reasonCount struct {
	Stage, Reason string
	N             int
}

// pipeline is the operator's Pipeline page (admin only): every stage's
// consumer group as Kafka sees it, cluster-wide; it reloads itself.
func (c *Console) pipeline(w http.ResponseWriter, r *http.Request, s *session) error {
	p := pipelinePage{Settings: c.settings, RunStages: c.runStages, Refresh: int(pipelineRefresh / time.Second),
		BehindLag: clusterview.BehindLag, Read: c.now()}
	if c.cluster == nil {
		return &admin.Error{Status: http.StatusNotImplemented, Code: admin.CodeNotImplemented, Message: "This process has no Kafka admin client for the operations pages."}
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterTimeout)
	defer cancel()
	st, err := c.cluster.Stages(ctx)
	if err != nil {
		p.Error = err.Error()
	}
	p.Stages = st
	if err == nil && len(st) > 0 {
		c.samples.add(p.Read, st)
	}
	p.Chart = pipelineCharts(c.samples.snapshot(), p.Read)
	p.PerPartition = deadLettersPerPartition
	p.DeadLetters = c.reasonCounts(ctx)
	for _, x := range st {
		if x.Behind {
			p.Behind = append(p.Behind, x.Name)
		}
	}
	return c.render(w, r, http.StatusOK, "pipeline", s, "", "pipeline", "Pipeline", p)
}

// redactedSettings renders cfg as YAML with the value of every key that
// names a secret (token, password, secret, or a *_key) replaced by
// "[redacted]" when it is set.
func redactedSettings(cfg any) (string, error) {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", err
	}
	redactNode(&doc)
	out, err := yaml.Marshal(&doc)
	return string(out), err
}

func redactNode(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if secretKey(k.Value) && !(v.Kind == yaml.ScalarNode && (v.Value == "" || v.Tag == "!!null")) {
				*v = yaml.Node{Kind: yaml.ScalarNode, Value: "[redacted]"}
				continue
			}
			redactNode(v)
		}
		return
	}
	for _, c := range n.Content {
		redactNode(c)
	}
}

// secretKey reports whether a configuration key names a secret.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "token") || strings.Contains(k, "password") || strings.Contains(k, "secret") ||
		k == "key" || strings.HasSuffix(k, "_key") || strings.Contains(k, "_key_")
}

// reasonCounts counts the latest dead letters (the Dead letters page's
// bounded read, without values) per stage and reason.
func (c *Console) reasonCounts(ctx context.Context) []reasonCount {
	n := map[[2]string]int{}
	for _, topic := range []string{c.topics.DLQ, c.topics.DeliveriesDLQ} {
		recs, _ := c.cluster.Latest(ctx, topic, deadLettersPerPartition, 0) // an error shows on the Dead letters page
		for _, rec := range recs {
			dl := deadLetterOf(rec)
			if dl.Stage == "" && topic == c.topics.DeliveriesDLQ {
				dl.Stage = "deliver"
			}
			n[[2]string{dl.Stage, dl.Reason}]++
		}
	}
	out := make([]reasonCount, 0, len(n))
	for k, v := range n {
		out = append(out, reasonCount{Stage: k[0], Reason: k[1], N: v})
	}
	slices.SortFunc(out, func(a, b reasonCount) int {
		if a.N != b.N {
			return b.N - a.N
		}
		return strings.Compare(a.Stage+a.Reason, b.Stage+b.Reason)
	})
	return out
}
