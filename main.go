// Command jitpwiz walks a person from nothing to a device that AWS IoT Core provisioned
// Just-in-Time from their own root CA. This file is cobra wiring only.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
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
		// A failure `run` or `doctor` already showed (its ✗ line) is not printed a second time.
		var de *steps.DoctorError
		if errors.As(err, &de) {
			os.Exit(de.ExitCode())
		}
		if !steps.Reported(err) {
			fmt.Fprintln(os.Stderr, "jitpwiz:", err)
		}
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
	addLang(root)
	addWizard(root)
	root.AddCommand(newVersionCmd(), newRunCmd(), newCleanCmd(), newDoctorCmd(), newScriptCmd(), newLocalCmd(), newFleetCmd())
	return root
}

// addLang gives every command --lang; without it the locale (LC_ALL, LC_MESSAGES, LANG) decides.
func addLang(root *cobra.Command) {
	var lang string
	root.PersistentFlags().StringVar(&lang, "lang", "", i18n.T("cli.lang.flag", i18n.Args{"Langs": i18n.LangList()}))
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		i18n.SetLang(i18n.FromEnv(os.Getenv)) // a bad --lang is said in the locale's language
		l, err := i18n.Resolve(lang, cmd.Flags().Changed("lang"), os.Getenv)
		if err != nil {
			return err
		}
		i18n.SetLang(l)
		return nil
	}
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
		defer s.Close() // also when Connect fails: it releases the workspace lock
		if err := s.Connect(ctx); err != nil {
			return err
		}
		rc := ui.RunConfig{Options: ui.Options{Plan: steps.NewPlan(s), Header: wizardHeader(s, demo)}}
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
	return ui.Header(s.Where(), ui.RelativeToCwd(s.Dir()), demo) + " · " + i18n.Current().Name()
}

// newLocalCmd runs the embedded local AWS IoT Core standalone until Ctrl+C.
func newLocalCmd() *cobra.Command {
	var (
		dir, region, listen, host string
		latency                   string
		apiPort, mqttPort         int
		alpnPort                  int
		showCalls, jitrActivator  bool
	)
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the embedded local AWS IoT Core (control plane + MQTT broker) until Ctrl+C",
		Long: "jitpwiz local runs the local AWS IoT Core on its own, so the AWS CLI and mosquitto_pub commands of the\n" +
			"JITP walkthrough work against it by hand. It prints the endpoint URL, the MQTT host:port, the awsRootCA.pem\n" +
			"path and ready-to-paste exports, then streams provisioning events. State is kept in <dir>/.local-iot.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lat, err := local.ParseLatency(latency)
			if err != nil {
				return err
			}
			opts := local.Options{Dir: dir, Region: region, Listen: listen, EndpointHost: host, ShowAPICalls: showCalls, Latency: lat, JITRActivator: jitrActivator}
			if ws, err := steps.OpenExisting(steps.Options{Dir: dir}); err == nil { // the banner's commands name its thing
				opts.Thing = ws.Options.Thing
			}
			if cmd.Flags().Changed("api-port") {
				opts.APIAddr = fmt.Sprintf(":%d", apiPort)
			}
			if cmd.Flags().Changed("mqtt-port") {
				opts.MQTTAddr = fmt.Sprintf(":%d", mqttPort)
			}
			if alpnPort != 0 {
				opts.ALPNAddr = fmt.Sprintf(":%d", alpnPort)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return local.Run(ctx, opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", steps.DefaultDir, "workspace directory; state is kept in <dir>/.local-iot")
	f.StringVar(&region, "region", "", "region of a new local state (default "+local.DefaultRegion+"; an existing state keeps its own)")
	f.IntVar(&apiPort, "api-port", 4599, "control-plane port (0: a free port; default 4599, or a free port when taken)")
	f.IntVar(&mqttPort, "mqtt-port", 8883, "MQTT-over-TLS port (0: a free port; default 8883, or a free port when taken)")
	f.IntVar(&alpnPort, "alpn-port", 0, "also listen for MQTT with ALPN x-amzn-mqtt-ca on this port (AWS's 443 flavour)")
	f.StringVar(&listen, "listen", "", "interface address to listen on (default 127.0.0.1, loopback only; 0.0.0.0 exposes it)")
	f.StringVar(&host, "endpoint-host", local.DefaultEndpointHost, "host name DescribeEndpoint returns and the broker certificate names")
	f.BoolVar(&showCalls, "show-api-calls", false, "also print every IoT/IAM/STS API call (the local CloudTrail view)")
	f.StringVar(&latency, "latency", "none", "aws: take as long as AWS does (JITP 2s, DetachThingPrincipal 5s, DeletePolicy 5m after a detach, a new role 10s); or key=duration items: provisioning, detach, policy-delete, role")
	f.BoolVar(&jitrActivator, "jitr-activator", false, "activate every certificate JITR registers, as a topic rule + the JITR guide's Lambda would (off: as on AWS, nothing does)")
	return cmd
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

func newRunCmd() *cobra.Command {
	var (
		o          steps.Options
		stopAfter  string
		pauseAfter string
		commands   bool
		from       string
		until      string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run all the steps without the wizard (headless, scriptable, resumable)",
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
			plan := steps.NewPlan(s)
			for flag, id := range map[string]steps.ID{"--stop-after": stop, "--pause-after": pause} {
				if _, err := plan.ParseID(string(id)); id != "" && err != nil {
					return fmt.Errorf("%s: %w", flag, err)
				}
			}
			var fromID, untilID steps.ID
			for _, f := range []struct {
				flag, v string
				id      *steps.ID
			}{{"--from", from, &fromID}, {"--until", until, &untilID}} {
				if f.v == "" {
					continue
				}
				if *f.id, err = plan.ParseID(f.v); err != nil {
					return fmt.Errorf("%s: %w", f.flag, err)
				}
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			out := cmd.OutOrStdout()
			cfg := steps.RunConfig{Out: out, JSON: opts.JSON, ShowCommands: commands, From: fromID, Until: untilID}
			if !opts.JSON && term.IsTerminal(os.Stdin.Fd()) {
				cfg.Prompt = linePrompt(cmd)
			}
			// Test hooks: die like a killed process right after a step is saved, or wait there
			// for Ctrl+C.
			cfg.OnStepEnd = func(id steps.ID, _ steps.StepState) {
				switch id {
				case stop:
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				case pause:
					fmt.Fprintln(out, "paused after", id)
					<-ctx.Done()
				}
			}
			return plan.Run(ctx, cfg)
		},
	}
	o.BindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON event object per line")
	cmd.Flags().BoolVar(&commands, "commands", false, "print the equivalent openssl/aws/mosquitto_pub commands of each step (done before, or run now)")
	cmd.Flags().StringVar(&from, "from", "", "run from this `STEP` (a number, e.g. 11, or an ID such as first-connect) on, again where it is done; the steps before it must be done")
	cmd.Flags().StringVar(&until, "until", "", "stop after this `STEP` (e.g. --until 10: everything up to the first connect); exit 0 when it is done")
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
	var (
		o     steps.Options
		fleet string
	)
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove what the workspace created on the target (certificates, things, policies, the CA)",
		Long: "clean lists what the workspace created — policy detach → certificate INACTIVE → detach thing principal →\n" +
			"delete certificate → delete thing → delete policy → CA INACTIVE → delete CA — asks to confirm (or --yes),\n" +
			"then removes it. What is already gone is skipped. Local files and the provisioning role are kept.\n" +
			"The workspace's fleets (jitpwiz fleet) are removed too, device by device; --fleet ID removes only that fleet\n" +
			"(--fleet all: every fleet) and keeps the workspace's own device and CA. A clean that was stopped goes on\n" +
			"where it stopped.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wait := o.CleanWait
			if wait <= 0 {
				wait = -1 // --wait 0: no waiting at all (0 in Options means the default)
			}
			s, err := steps.OpenExisting(steps.Options{Dir: o.Dir, Yes: o.Yes, CleanWait: wait, AtRecordedRegion: true})
			if err != nil {
				return err
			}
			defer s.Close()
			// Another jitpwiz at work may have registered what it has not saved yet: refuse
			// rather than plan from a session that is being written.
			if err := steps.LockWorkspace(s); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			actions := s.CleanPlan()
			if fleet != "" {
				if actions, err = steps.FleetCleanPlan(s, fleet); err != nil {
					return err
				}
			}
			if len(actions) == 0 && fleet != "" {
				fmt.Fprintln(out, "nothing to clean: the workspace has no fleet to remove")
				return nil
			}
			if len(actions) == 0 {
				fmt.Fprintln(out, s.NothingToClean())
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
			if fleet != "" {
				return steps.RunClean(ctx, s, actions, out)
			}
			return s.Clean(ctx, out)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", steps.DefaultDir, "workspace directory")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&fleet, "fleet", "", "remove only the fleet with this `ID` (its directory name under <dir>/fleet), or every fleet with all")
	cmd.Flags().DurationVar(&o.CleanWait, "wait", steps.DefaultCleanWait, "how long to wait for a policy to become deletable (AWS refuses DeletePolicy for up to 5 minutes after a detach); 0: do not wait, leave it for the next clean (the detach of a certificate from its thing is always waited for, up to a minute)")
	return cmd
}

func newFleetCmd() *cobra.Command {
	var (
		o       steps.Options
		fo      steps.FleetOptions
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "fleet -n N",
		Short: "Bring N devices of the workspace's CA online at once: JITP at fleet scale, with a live view and a report",
		Long: "fleet issues N device certificates from the workspace's CA (a workspace whose CA is registered: run\n" +
			"`jitpwiz run --dir DIR --yes` first), and for each device connects once (the broker provisions it through\n" +
			"JITP and drops the connection), reconnects as the thing and publishes once. A live view shows the devices by\n" +
			"outcome (failures by cause), the rate and the p50/p99 latency; without a terminal, or with --json, it prints\n" +
			"progress lines. The report and a CSV row per device go to <dir>/fleet/<id>/ (report.json, devices.csv);\n" +
			"`jitpwiz clean` removes the fleet. Device keys stay in memory unless --save-keys. On --target aws at most\n" +
			"8 devices start per second by default, under AWS IoT Core's quotas (--rate changes it).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fo.RateSet = cmd.Flags().Changed("rate")
			s, err := steps.OpenFleetWorkspace(o)
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := s.Connect(ctx); err != nil {
				return err
			}
			f, err := steps.NewFleet(ctx, s, fo)
			if err != nil {
				return err
			}
			var rep *steps.FleetReport
			if jsonOut || !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
				rep, err = f.RunHeadless(ctx, steps.FleetHeadless{Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr(), JSON: jsonOut, ShowPath: ui.RelativeToCwd})
			} else {
				rep, err = ui.RunFleet(ctx, ui.FleetRunConfig{FleetOptions: ui.FleetOptions{Source: f, Headline: f.Headline(), Notes: f.Notes()}})
			}
			if err != nil || rep == nil {
				return err
			}
			return rep.Err()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Dir, "dir", steps.DefaultDir, "workspace `DIR` whose CA is registered (jitpwiz run did steps 1–8)")
	fl.StringVar(&o.Target, "target", "", "`TARGET`: local (the embedded AWS IoT Core, default) or aws (default: the workspace's)")
	fl.StringVar(&o.Region, "region", "", "AWS `REGION` (default: the workspace's)")
	fl.StringVar(&o.EndpointURL, "endpoint-url", "", "custom AWS API endpoint `URL` (e.g. the one jitpwiz local prints)")
	fl.StringVar(&o.Profile, "profile", "", "AWS shared-config `PROFILE` (target aws)")
	fl.IntVarP(&fo.Devices, "devices", "n", 0, "number of devices `N` (1 to 100000)")
	fl.IntVar(&fo.Concurrency, "concurrency", steps.DefaultFleetConcurrency, "devices connecting at once (`C`; each holds one connection)")
	fl.Float64Var(&fo.Rate, "rate", 0, "at most `R` devices start per second (0: no limit; default none on local, 8 on aws)")
	fl.StringVar(&fo.Names, "names", steps.DefaultFleetNames, "thing-name `PATTERN` with one number verb; devices are numbered 1 to N")
	fl.StringVar(&fo.KeyType, "key", string(steps.DefaultFleetKey), "`TYPE` of the device keys: ec256 (default: fast to make), ec384, rsa2048, rsa3072, rsa4096")
	fl.BoolVar(&fo.SaveKeys, "save-keys", false, "write each device's key (0600) and certificates to <dir>/fleet/<id>/devices/<name>/")
	fl.BoolVar(&jsonOut, "json", false, "print the report as JSON on stdout (progress on stderr); implies no live view")
	return cmd
}

func newDoctorCmd() *cobra.Command {
	var o steps.DoctorOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a workspace, or a customer's files, against the known JITP failure modes and explain what is wrong",
		Long: "doctor checks a JITP setup and prints one line per check (✓, ✗ or –) with its evidence; each ✗ says the cause\n" +
			"in plain words and a fix as commands, the likeliest culprit first. Without --ca-cert it checks the workspace\n" +
			"--dir; with --ca-cert it checks a customer's files alone (no workspace, no CA key) against the target.\n" +
			"Exit code: 0 when nothing failed, 1 when a check failed, 3 when the target could not be reached.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			o.Version = version + " (commit " + buildCommit() + ")"
			return steps.RunDoctor(ctx, o, cmd.OutOrStdout())
		},
	}
	o.BindFlags(cmd.Flags())
	return cmd
}

func newScriptCmd() *cobra.Command {
	var o steps.ScriptOptions
	cmd := &cobra.Command{
		Use:   "script",
		Short: "Export the workspace as a commented bash script of the walkthrough's commands",
		Long: "script writes the workspace's procedure as a bash script: each step's openssl, aws iot/iam and mosquitto_pub\n" +
			"commands with your values and file names, commented. Run in an empty directory it does the whole walkthrough\n" +
			"again by hand (THING=… for another thing; for the local target ENDPOINT_URL, MQTT_PORT and SERVER_CA from\n" +
			"`jitpwiz local`). Running it again is safe.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Version = version
			return steps.RunScript(o, cmd.OutOrStdout(), steps.NewPlan)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", steps.DefaultDir, "workspace directory")
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "write the script to `FILE` (default: standard output)")
	cmd.Flags().StringVar(&o.Thing, "thing", "", "the device whose commands to export (default: the workspace's current thing)")
	return cmd
}
