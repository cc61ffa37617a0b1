// Command jitpwiz walks a person from nothing to a device that AWS IoT Core provisioned
// Just-in-Time from their own root CA. This file is cobra wiring only.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/ui"
	"github.com/spf13/cobra"
)

// Set with -ldflags "-X main.version=... -X main.commit=..." (see Makefile).
var (
	version = "dev"
	commit  = ""
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "jitpwiz:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "jitpwiz",
		Short: "Walk through AWS IoT Just-in-Time Provisioning, step by step",
		Long: "jitpwiz with no subcommand opens the wizard: the 13 steps of AWS IoT Just-in-Time Provisioning with your\n" +
			"own root CA, explained and performed one by one, against the embedded local AWS IoT Core (default) or AWS.\n" +
			"It resumes a workspace where it stopped.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addWizard(root)
	root.AddCommand(newVersionCmd(), newRunCmd(), newCleanCmd(), newDoctorCmd())
	return root
}

// addWizard makes the root command (no subcommand) open the TUI wizard, with the flags of `run`.
func addWizard(root *cobra.Command) {
	var (
		o        steps.Options
		demo     bool
		debugLog bool
	)
	o.BindFlags(root.Flags())
	root.Flags().BoolVar(&demo, "demo", false, "for recordings: local target, deterministic names (DemoThing, country IN); enter through the defaults")
	root.Flags().BoolVar(&debugLog, "debug", false, "write a debug log to <dir>/jitpwiz-debug.log (never keys)")
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if demo {
			o.Target, o.EndpointURL, o.Thing, o.Country = steps.TargetLocal, "", steps.DefaultThing, steps.DefaultCountry
		}
		if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
			return fmt.Errorf("the wizard needs a terminal — use `jitpwiz run` to run the steps without one")
		}
		opts, err := o.WithConfig()
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		s, err := steps.Open(opts)
		if err != nil {
			return err
		}
		if err := s.Connect(ctx); err != nil {
			return err
		}
		defer s.Close()
		rc := ui.RunConfig{Options: ui.Options{Session: s, Plan: steps.Plan(), Header: wizardHeader(s, demo)}}
		if debugLog {
			rc.DebugLog = filepath.Join(s.Dir(), "jitpwiz-debug.log")
		}
		m, err := ui.Run(ctx, rc)
		if m != nil {
			fmt.Fprintln(cmd.OutOrStdout(), m.Summary())
		}
		return err
	}
}

func wizardHeader(s *steps.Session, demo bool) string {
	h := "target " + s.Options.Target + " · " + ui.RelativeToCwd(s.Dir())
	if demo {
		h += " · demo"
	}
	return h
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "jitpwiz %s (commit %s)\n", version, buildCommit())
			return nil
		},
	}
}

func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
