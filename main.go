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
	"strconv"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Set with -ldflags "-X main.version=... -X main.commit=..." (see Makefile).
var (
	version = "dev"
	commit  = ""
)

func main() {
	if err := newCommand(os.Args[1:], os.Getenv).Execute(); err != nil {
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

// newCommand is the command line for args: the language is chosen first (--lang among args,
// else the locale), so that the help text, built with the commands, is in it.
func newCommand(args []string, getenv func(string) string) *cobra.Command {
	i18n.SetLang(startLang(args, getenv))
	root := newRootCmd()
	root.SetArgs(args)
	return root
}

// startLang is the language --lang among args asks for, else the locale's. A bad --lang
// is the locale's here: PersistentPreRunE then says what is wrong with it.
func startLang(args []string, getenv func(string) string) i18n.Lang {
	for i, a := range args {
		if a == "--" {
			break
		}
		v, ok := strings.CutPrefix(a, "--lang=")
		if !ok && a == "--lang" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			if l, err := i18n.Parse(v); err == nil {
				return l
			}
			break
		}
	}
	return i18n.FromEnv(getenv)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "jitpwiz",
		Short:         i18n.T("main.root.short"),
		Long:          i18n.T("main.root.long"),
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(flagError)
	root.SuggestionsMinimumDistance = 2 // a mistyped command ("docter") is offered the one meant
	addLang(root)
	addWizard(root)
	root.AddCommand(newVersionCmd(), newRunCmd(), newCleanCmd(), newDoctorCmd(), newScriptCmd(), newLocalCmd(), newFleetCmd())
	localizeHelp(root)
	return root
}

// flagError says what is wrong with a flag in the user's language, naming the flag and where
// to read what it takes: pflag's own words are English, and for a number or a yes/no they
// quote Go's parser.
func flagError(cmd *cobra.Command, err error) error {
	help := cmd.CommandPath() + " --help"
	var (
		unknown  *pflag.NotExistError
		needs    *pflag.ValueRequiredError
		bad      *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
		ours     *i18n.Error
		flagName = func(f *pflag.Flag) string { return "--" + f.Name }
	)
	switch {
	case errors.As(err, &unknown):
		flag := "--" + unknown.GetSpecifiedName()
		if unknown.GetSpecifiedShortnames() != "" { // -q: a shorthand
			flag = "-" + unknown.GetSpecifiedName()
		}
		return i18n.NewError("main.flag.unknown", i18n.Args{"Flag": flag, "Command": cmd.CommandPath(), "Help": help})
	case errors.As(err, &needs):
		return i18n.NewError("main.flag.needs-value", i18n.Args{"Flag": flagName(needs.GetFlag()), "Help": help})
	case errors.As(err, &bad) && errors.As(err, &ours):
		return i18n.NewError("main.flag.value", i18n.Args{"Flag": flagName(bad.GetFlag()), "Value": strconv.Quote(bad.GetValue()), "Err": ours})
	case errors.As(err, &bad):
		return i18n.NewError("main.flag.bad-value", i18n.Args{"Flag": flagName(bad.GetFlag()), "Value": strconv.Quote(bad.GetValue()),
			"Kind": flagKind(bad.GetFlag().Value.Type())})
	case errors.As(err, &syntax):
		return i18n.NewError("main.flag.syntax", i18n.Args{"Arg": syntax.GetSpecifiedFlag()})
	}
	return err
}

// flagKind names what a flag of pflag's type takes.
func flagKind(typ string) string {
	switch typ {
	case "int":
		return i18n.T("main.flag.kind.int")
	case "bool":
		return i18n.T("main.flag.kind.bool")
	case "duration":
		return i18n.T("main.flag.kind.duration")
	case "float64":
		return i18n.T("main.flag.kind.float")
	}
	return i18n.T("main.flag.kind.other", i18n.Args{"Type": typ})
}

// noArgs refuses arguments (every command takes flags only), naming the argument; a mistyped
// command gets the one it is likely meant to be.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if near := cmd.SuggestionsFor(args[0]); len(near) > 0 {
		return i18n.NewError("main.args.suggest", i18n.Args{"Arg": strconv.Quote(args[0]), "Command": cmd.CommandPath(), "Suggest": near[0]})
	}
	return i18n.NewError("main.args.none", i18n.Args{"Arg": strconv.Quote(args[0]), "Command": cmd.CommandPath(), "Help": cmd.CommandPath() + " --help"})
}

// localizeHelp says cobra's own words of --help in the current language: the headings of the
// usage template, the -h flag, and the help and completion commands' descriptions.
func localizeHelp(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Short, c.Long = i18n.T("main.help.short"), i18n.T("main.help.long")
		case "completion":
			c.Short, c.Long = i18n.T("main.completion.short"), i18n.T("main.completion.long")
			for _, sh := range c.Commands() {
				sh.Short = i18n.T("main.completion.shell", i18n.Args{"Shell": sh.Name()})
			}
		}
	}
	var helpFlag func(*cobra.Command)
	helpFlag = func(c *cobra.Command) {
		c.Flags().BoolP("help", "h", false, i18n.T("main.help.flag", i18n.Args{"Command": c.Name()}))
		for _, sub := range c.Commands() {
			helpFlag(sub)
		}
	}
	helpFlag(root)
	t := root.UsageTemplate()
	for _, r := range []struct{ en, local string }{
		{"Usage:", i18n.T("main.help.usage")},
		{"\nAliases:", "\n" + i18n.T("main.help.aliases")},
		{"\nExamples:", "\n" + i18n.T("main.help.examples")},
		{"\nAvailable Commands:", "\n" + i18n.T("main.help.commands")},
		{"\nAdditional Commands:", "\n" + i18n.T("main.help.more-commands")},
		{"\nFlags:", "\n" + i18n.T("main.help.flags")},
		{"\nGlobal Flags:", "\n" + i18n.T("main.help.global-flags")},
		{"\nAdditional help topics:", "\n" + i18n.T("main.help.topics")},
		{`Use "{{.CommandPath}} [command] --help" for more information about a command.`, i18n.T("main.help.more", i18n.Args{"Command": "{{.CommandPath}}"})},
	} {
		t = strings.Replace(t, r.en, r.local, 1)
	}
	root.SetUsageTemplate(t)
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
	root.Flags().BoolVar(&demo, "demo", false, i18n.T("main.wizard.flag.demo"))
	root.Flags().BoolVar(&debugLog, "debug", false, i18n.T("main.wizard.flag.debug"))
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if demo {
			o.Target, o.EndpointURL, o.Thing, o.Country = steps.TargetLocal, "", steps.DefaultThing, steps.DefaultCountry
		}
		if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
			return i18n.NewError("main.wizard.no-terminal")
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
		Short: i18n.T("main.local.short"),
		Long:  i18n.T("main.local.long"),
		Args:  noArgs,
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
	f.StringVar(&dir, "dir", steps.DefaultDir, i18n.T("main.local.flag.dir"))
	f.StringVar(&region, "region", "", i18n.T("main.local.flag.region", i18n.Args{"Default": local.DefaultRegion}))
	f.IntVar(&apiPort, "api-port", 4599, i18n.T("main.local.flag.api-port"))
	f.IntVar(&mqttPort, "mqtt-port", 8883, i18n.T("main.local.flag.mqtt-port"))
	f.IntVar(&alpnPort, "alpn-port", 0, i18n.T("main.local.flag.alpn-port"))
	f.StringVar(&listen, "listen", "", i18n.T("main.local.flag.listen"))
	f.StringVar(&host, "endpoint-host", local.DefaultEndpointHost, i18n.T("main.local.flag.endpoint-host"))
	f.BoolVar(&showCalls, "show-api-calls", false, i18n.T("main.local.flag.show-api-calls"))
	f.StringVar(&latency, "latency", "none", i18n.T("main.local.flag.latency"))
	f.BoolVar(&jitrActivator, "jitr-activator", false, i18n.T("main.local.flag.jitr-activator"))
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: i18n.T("main.version.short"),
		Args:  noArgs,
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
		Short: i18n.T("main.run.short"),
		Long:  i18n.T("main.run.long"),
		Args:  noArgs,
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
	cmd.Flags().BoolVar(&o.JSON, "json", false, i18n.T("main.run.flag.json"))
	cmd.Flags().BoolVar(&commands, "commands", false, i18n.T("main.run.flag.commands"))
	cmd.Flags().StringVar(&from, "from", "", i18n.T("main.run.flag.from"))
	cmd.Flags().StringVar(&until, "until", "", i18n.T("main.run.flag.until"))
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
			return "", i18n.NewError("main.run.no-answer", i18n.Args{"Field": f.Label, "Flag": "--" + f.Flag})
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
		Short: i18n.T("main.clean.short"),
		Long:  i18n.T("main.clean.long"),
		Args:  noArgs,
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
				fmt.Fprintln(out, i18n.T("main.clean.no-fleet"))
				return nil
			}
			if len(actions) == 0 {
				fmt.Fprintln(out, s.NothingToClean())
				return nil
			}
			fmt.Fprintln(out, i18n.T("main.clean.will-remove", i18n.Args{"Target": s.Options.Target}))
			for _, a := range actions {
				fmt.Fprintln(out, "  -", a.What)
			}
			if !o.Yes {
				if !term.IsTerminal(os.Stdin.Fd()) {
					return i18n.NewError("main.clean.confirm-yes")
				}
				fmt.Fprint(out, i18n.T("main.clean.proceed")+" ")
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return i18n.NewError("main.clean.cancelled")
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
	cmd.Flags().StringVar(&o.Dir, "dir", steps.DefaultDir, i18n.T("main.clean.flag.dir"))
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, i18n.T("main.clean.flag.yes"))
	cmd.Flags().StringVar(&fleet, "fleet", "", i18n.T("main.clean.flag.fleet"))
	cmd.Flags().DurationVar(&o.CleanWait, "wait", steps.DefaultCleanWait, i18n.T("main.clean.flag.wait"))
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
		Short: i18n.T("main.fleet.short"),
		Long:  i18n.T("main.fleet.long"),
		Args:  noArgs,
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
	fl.StringVar(&o.Dir, "dir", steps.DefaultDir, i18n.T("main.fleet.flag.dir"))
	fl.StringVar(&o.Target, "target", "", i18n.T("main.fleet.flag.target"))
	fl.StringVar(&o.Region, "region", "", i18n.T("main.fleet.flag.region"))
	fl.StringVar(&o.EndpointURL, "endpoint-url", "", i18n.T("main.fleet.flag.endpoint-url"))
	fl.StringVar(&o.Profile, "profile", "", i18n.T("main.fleet.flag.profile"))
	fl.IntVarP(&fo.Devices, "devices", "n", 0, i18n.T("main.fleet.flag.devices"))
	fl.IntVar(&fo.Concurrency, "concurrency", steps.DefaultFleetConcurrency, i18n.T("main.fleet.flag.concurrency"))
	fl.Float64Var(&fo.Rate, "rate", 0, i18n.T("main.fleet.flag.rate"))
	fl.StringVar(&fo.Names, "names", steps.DefaultFleetNames, i18n.T("main.fleet.flag.names"))
	fl.StringVar(&fo.KeyType, "key", string(steps.DefaultFleetKey), i18n.T("main.fleet.flag.key"))
	fl.BoolVar(&fo.SaveKeys, "save-keys", false, i18n.T("main.fleet.flag.save-keys"))
	fl.BoolVar(&jsonOut, "json", false, i18n.T("main.fleet.flag.json"))
	return cmd
}

func newDoctorCmd() *cobra.Command {
	var o steps.DoctorOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: i18n.T("main.doctor.short"),
		Long:  i18n.T("main.doctor.long"),
		Args:  noArgs,
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
		Short: i18n.T("main.script.short"),
		Long:  i18n.T("main.script.long"),
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Version = version
			return steps.RunScript(o, cmd.OutOrStdout(), steps.NewPlan)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", steps.DefaultDir, i18n.T("main.script.flag.dir"))
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", i18n.T("main.script.flag.output"))
	cmd.Flags().StringVar(&o.Thing, "thing", "", i18n.T("main.script.flag.thing"))
	return cmd
}
