package main

// Cobra wiring of `jitpwiz run` and `jitpwiz clean`; their logic lives in steps/.

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var (
		o          steps.Options
		stopAfter  string
		pauseAfter string
		commands   bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run all 13 steps without the wizard (headless, scriptable, resumable)",
		Long: "run performs the JITP procedure step by step and prints one line per step (--json: one event object per\n" +
			"line). It resumes a workspace where it stopped and redoes exactly what a changed option invalidates.\n" +
			"Options are remembered in the workspace; give one again to change it, or \"-\" to clear it.\n" +
			"The exit code is 0 only when the device has published as the thing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.WithConfig()
			if err != nil {
				return err
			}
			var stop, pause steps.ID
			if stopAfter != "" {
				if stop, err = steps.ParseID(stopAfter); err != nil {
					return fmt.Errorf("--stop-after: %w", err)
				}
			}
			if pauseAfter != "" {
				if pause, err = steps.ParseID(pauseAfter); err != nil {
					return fmt.Errorf("--pause-after: %w", err)
				}
			}
			s, err := steps.Open(opts)
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			out := cmd.OutOrStdout()
			cfg := steps.RunConfig{Out: out, JSON: opts.JSON, ShowCommands: commands}
			if !opts.JSON && term.IsTerminal(os.Stdin.Fd()) {
				cfg.Prompt = linePrompt(cmd)
			}
			// Test hooks: die like a killed process right after a step is saved, or wait there
			// for Ctrl+C.
			cfg.OnStepEnd = func(id steps.ID, _ steps.State) {
				switch id {
				case stop:
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				case pause:
					fmt.Fprintln(out, "paused after", id)
					<-ctx.Done()
				}
			}
			return steps.Run(ctx, s, cfg)
		},
	}
	o.BindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON event object per line")
	cmd.Flags().BoolVar(&commands, "commands", false, "print the equivalent openssl/aws/mosquitto_pub commands of each step that runs")
	cmd.Flags().StringVar(&stopAfter, "stop-after", "", "kill the process right after this step (testing resume)")
	cmd.Flags().StringVar(&pauseAfter, "pause-after", "", "wait for an interrupt right after this step (testing Ctrl+C)")
	_ = cmd.Flags().MarkHidden("stop-after")
	_ = cmd.Flags().MarkHidden("pause-after")
	return cmd
}

// linePrompt asks for a field on the terminal, showing its current value as the default.
func linePrompt(cmd *cobra.Command) func(steps.Field, string) (string, error) {
	in := bufio.NewReader(cmd.InOrStdin())
	return func(f steps.Field, current string) (string, error) {
		fmt.Fprintf(cmd.OutOrStdout(), "%s [%s]: ", f.Label, current)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("no answer for %s — pass --%s or --yes", f.Label, f.Key)
		}
		return strings.TrimSpace(line), nil
	}
}

func newCleanCmd() *cobra.Command {
	var o steps.Options
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove what the workspace created on the target (certificates, things, policies, the CA)",
		Long: "clean lists what the workspace created — policy detach → certificate INACTIVE → detach thing principal →\n" +
			"delete certificate → delete thing → delete policy → CA INACTIVE → delete CA — asks to confirm (or --yes),\n" +
			"then removes it. What is already gone is skipped. Local files and the provisioning role are kept.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(o.Dir + "/" + steps.SessionFile); err != nil {
				return fmt.Errorf("no jitpwiz workspace at %s (no %s) — give --dir of a workspace", o.Dir, steps.SessionFile)
			}
			s, err := steps.Open(steps.Options{Dir: o.Dir, Yes: o.Yes})
			if err != nil {
				return err
			}
			defer s.Close()
			out := cmd.OutOrStdout()
			actions := s.CleanPlan()
			if len(actions) == 0 {
				fmt.Fprintln(out, "nothing to clean: the workspace has not registered anything")
				return nil
			}
			fmt.Fprintf(out, "jitpwiz clean will remove from %s:\n", s.Options.Target)
			for _, a := range actions {
				fmt.Fprintln(out, "  -", a.What)
			}
			if !o.Yes {
				if !term.IsTerminal(os.Stdin.Fd()) {
					return fmt.Errorf("confirm with --yes (no terminal to ask)")
				}
				fmt.Fprint(out, "Proceed? [y/N] ")
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return fmt.Errorf("cancelled: nothing was removed")
				}
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			if err := s.Connect(ctx); err != nil {
				return err
			}
			return s.Clean(ctx, out)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", steps.DefaultDir, "workspace directory")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func newDoctorCmd() *cobra.Command {
	var o steps.Options
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a workspace against the known JITP failure modes and explain what is wrong",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(o.Dir + "/" + steps.SessionFile); err != nil {
				return fmt.Errorf("no jitpwiz workspace at %s (no %s) — give --dir of a workspace", o.Dir, steps.SessionFile)
			}
			s, err := steps.Open(steps.Options{Dir: o.Dir, Thing: o.Thing})
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			out := cmd.OutOrStdout()
			if err := s.Connect(ctx); err != nil {
				fmt.Fprintln(out, "✗ cannot reach the target:", err)
			}
			failed := 0
			for _, l := range s.Doctor(ctx) {
				switch {
				case l.Kind == steps.ResultCheck && l.OK:
					fmt.Fprintf(out, "✓ %s: %s\n", l.Label, l.Value)
				case l.Kind == steps.ResultCheck:
					failed++
					fmt.Fprintf(out, "✗ %s: %s\n", l.Label, l.Value)
				default:
					fmt.Fprintf(out, "    %s\n", l.Value)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", steps.DefaultDir, "workspace directory")
	cmd.Flags().StringVar(&o.Thing, "thing", "", "the thing to check (default: the workspace's current thing)")
	return cmd
}
