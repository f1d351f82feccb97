package system

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/topics"
)

// NewControl returns the control-plane store of cfg (not started): on
// cfg.Kafka and the control topic, with secret_key and
// secret_key_previous. Errors name the setting.
func NewControl(cfg configs.Config, names topics.Names, log *zap.Logger) (*control.Store, error) {
	opts := []control.Opt{control.WithLogger(log)}
	if cfg.SecretKey != "" {
		key, err := control.ParseSecretKey(cfg.SecretKey)
		if err != nil {
			return nil, &pipeline.FieldError{Field: "secret_key", Reason: err.Error()}
		}
		opts = append(opts, control.WithSecretKey(key))
	}
	var prev [][]byte
	for i, k := range cfg.SecretKeyPrevious {
		key, err := control.ParseSecretKey(k)
		if err != nil {
			return nil, &pipeline.FieldError{Field: fmt.Sprintf("secret_key_previous[%d]", i), Reason: err.Error()}
		}
		prev = append(prev, key)
	}
	if len(prev) > 0 {
		opts = append(opts, control.WithPreviousSecretKeys(prev...))
	}
	return control.New(cfg.Kafka, names.Control, opts...)
}

// ResealSecrets re-encrypts every stored webhook secret that is not sealed
// with cfg's secret_key (control.Store.Reseal) and returns how many
// webhooks it rewrote, and how many there are. It reads the control topic
// to its end first; safe to run twice (the second run rewrites none) and
// while the pipeline runs (see Reseal).
func ResealSecrets(ctx context.Context, cfg configs.Config, log *zap.Logger) (resealed, webhooks int, err error) {
	store, err := NewControl(cfg, topics.New(cfg.Topics.Prefix), log)
	if err != nil {
		return 0, 0, err
	}
	defer store.Close()
	if err := store.Start(ctx); err != nil {
		return 0, 0, err
	}
	resealed, err = store.Reseal(ctx)
	for _, ws := range store.WorkspaceIDs() {
		webhooks += len(store.Workspace(ws).ListWebhooks())
	}
	return resealed, webhooks, err
}
