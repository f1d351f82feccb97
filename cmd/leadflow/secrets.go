package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/stages/system"
)

const secretsUsage = `Usage: leadflow secrets reseal [--config FILE] [--brokers LIST]

reseal re-encrypts every stored webhook secret under the current secret_key
(LEADFLOW_SECRET_KEY), after a key rotation: give every process the new key as
secret_key and the old one in secret_key_previous (LEADFLOW_SECRET_KEY_PREVIOUS),
run reseal (with the same settings), then drop the old key. It reports how many
webhooks it rewrote; a second run rewrites none, and it may run while the
pipeline runs.
`

func secretsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "reseal" {
		fmt.Fprint(stderr, secretsUsage)
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			return flag.ErrHelp
		}
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	fs := flag.NewFlagSet("secrets reseal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kf := addKafkaFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := kf.load(fs)
	if err != nil {
		return err
	}
	if cfg.SecretKey == "" {
		return errors.New("secret_key (LEADFLOW_SECRET_KEY) is not set: there is no key to seal the secrets with")
	}
	if cl, err := newKafkaClient(ctx, cfg.Kafka); err != nil {
		return err
	} else {
		cl.Close()
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	n, total, err := system.ResealSecrets(ctx, cfg, log.With(zap.String("component", "control")))
	if err != nil {
		return fmt.Errorf("resealed %d webhooks, then: %w", n, err)
	}
	fmt.Fprintf(stdout, "resealed %d of %d webhooks under the current secret_key; the others were already sealed with it\n", n, total)
	return nil
}
