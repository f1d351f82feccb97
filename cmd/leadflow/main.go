// Command leadflow is the event pipeline behind website-visitor
// identification webhooks. Run `leadflow help` for its subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/leadflow/leadflow/bench"
	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
)

const usage = `leadflow: website visitors in, signed webhooks out.

Usage: leadflow COMMAND [flags]

Commands:
  dev            the whole system in one process on an embedded Kafka and Redis (--demo: with traffic and a live view)
  run            production: stages against the Kafka and Redis of --config
  produce        write raw events to leadflow.sessions.raw (stdin, --file, or --sample NAME)
  sink           a webhook receiver that verifies signatures and counts what arrives (--verbose: headers and bodies)
  replay         re-queue dead-lettered deliveries (--from dlq [--webhook ID])
  secrets        reseal: re-encrypt every stored webhook secret under the current secret_key
  redis-usage    keys, keys without a TTL and bytes per key that leadflow holds in Redis
  redis-migrate  move claims and reveal records an earlier version kept as keys into their leads
  bench          load benchmark: throughput, end-to-end latency, correctness, with a report
  datagen        write the sample data set (IP database, companies, contacts)
  version        version and build info

Run 'leadflow COMMAND -h' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: it parses args and runs until ctx ends.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func commands() map[string]command {
	return map[string]command{
		"bench":         bench.Main,
		"datagen":       datagenCmd,
		"dev":           devCmd,
		"produce":       produceCmd,
		"redis-migrate": redisMigrateCmd,
		"redis-usage":   redisUsageCmd,
		"replay":        replayCmd,
		"run":           runCmd,
		"secrets":       secretsCmd,
		"sink":          sinkCmd,
		"version":       versionCmd,
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "leadflow: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "leadflow %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// newLogger builds the process logger from the log settings. It also
// becomes go-redis's logger (process-global, so set here in main): its
// lines are structured warnings, rate-limited per message.
func newLogger(c configs.LogConfig, stderr io.Writer) (*zap.Logger, error) {
	log, err := buildLogger(c, stderr)
	if err != nil {
		return nil, err
	}
	rl, err := pipeline.NewRedisLogger(pipeline.RedisLoggerConfig{Interval: 10 * time.Second}, pipeline.RedisLoggerDeps{Logger: log})
	if err != nil {
		return nil, err
	}
	redis.SetLogger(rl)
	return log, nil
}

func buildLogger(c configs.LogConfig, stderr io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var enc zapcore.Encoder
	if c.Format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		if isTerminal(stderr) {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(stderr)), level)), nil
}

// isTerminal reports whether w is a terminal that takes colours: a
// character device, with NO_COLOR unset and TERM not "dumb". Logs written
// to a file or a pipe carry no ANSI escapes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && st.Mode()&os.ModeDevice != 0 && f.Name() != os.DevNull
}
