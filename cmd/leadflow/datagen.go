package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/leadflow/leadflow/schemas/sampledata"
)

func datagenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("datagen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", sampledata.DefaultSeed, "seed: the same seed and size give byte-identical files")
	companies := fs.Int("companies", sampledata.DefaultCompanies, fmt.Sprintf("generated companies besides the guide's two (0 to %d)", sampledata.MaxCompanies))
	out := fs.String("out", "", "directory to write the data set to (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required (the directory to write the data set to)")
	}
	bar := newProgressBar(stderr, "datagen")
	err := sampledata.Generate(ctx, sampledata.Options{Seed: *seed, Companies: *companies, OutDir: *out, Progress: bar.Update})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote sample data set (seed %d, %d companies + the guide's two) to %s\n", *seed, *companies, *out)
	return nil
}
