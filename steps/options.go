package steps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// How options are given — flags, a YAML config file, the TUI's fields — overlaid on the saved
// ones, defaulted and checked. The Options type itself is defined with the Session it is
// saved in (session.go).

// nonEmpty is a string flag that refuses an empty value: `--thing "$THING"` with THING unset
// must not quietly mean "the default" (or "keep the saved value") and go on.
type nonEmpty struct{ p *string }

func (v nonEmpty) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v nonEmpty) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return i18n.NewError("options.empty")
	}
	*v.p = s
	return nil
}

func (nonEmpty) Type() string { return "string" }

// BindFlags defines the flags shared by `jitpwiz run` and the TUI (`jitpwiz` with no
// subcommand) on fs, bound to o.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	o.Dir = DefaultDir
	fs.Var(nonEmpty{&o.Dir}, "dir", i18n.T("options.flag.dir"))
	fs.Var(nonEmpty{&o.Target}, "target", i18n.T("options.flag.target"))
	fs.Var(nonEmpty{&o.Profile}, "profile", i18n.T("options.flag.profile"))
	fs.Var(nonEmpty{&o.Region}, "region", i18n.T("options.flag.region"))
	fs.Var(nonEmpty{&o.EndpointURL}, "endpoint-url", i18n.T("options.flag.endpoint-url"))
	fs.Var(nonEmpty{&o.MQTTEndpoint}, "mqtt-endpoint", i18n.T("options.flag.mqtt-endpoint"))
	fs.Var(nonEmpty{&o.ServerCA}, "server-ca", i18n.T("options.flag.server-ca"))
	fs.Var(nonEmpty{&o.Mode}, "mode", i18n.T("options.flag.mode"))
	fs.Var(nonEmpty{&o.CAMode}, "ca-mode", i18n.T("options.flag.ca-mode"))
	fs.Var(nonEmpty{&o.Port}, "port", i18n.T("options.flag.port"))
	fs.Var(nonEmpty{&o.Template}, "template", i18n.T("options.flag.template"))
	fs.Var(nonEmpty{&o.PolicyName}, "policy-name", i18n.T("options.flag.policy-name", i18n.Args{"Default": DefaultPolicyName}))
	fs.Var(nonEmpty{&o.RoleARN}, "role-arn", i18n.T("options.flag.role-arn"))
	fs.Var(nonEmpty{&o.TrustCondition}, "trust-condition", i18n.T("options.flag.trust-condition"))
	fs.Var(nonEmpty{&o.Thing}, "thing", i18n.T("options.flag.thing", i18n.Args{"Default": DefaultThing}))
	fs.Var(nonEmpty{&o.Country}, "country", i18n.T("options.flag.country", i18n.Args{"Default": DefaultCountry}))
	fs.Var(nonEmpty{&o.Org}, "org", i18n.T("options.flag.org"))
	fs.Var(nonEmpty{&o.OrgUnit}, "ou", i18n.T("options.flag.ou"))
	fs.Var(nonEmpty{&o.State}, "state", i18n.T("options.flag.state"))
	fs.Var(nonEmpty{&o.CACountry}, "ca-country", i18n.T("options.flag.ca-country", i18n.Args{"Default": DefaultCACountry}))
	fs.Var(nonEmpty{&o.CAOrg}, "ca-org", i18n.T("options.flag.ca-org", i18n.Args{"Default": DefaultCAOrg}))
	fs.Var(nonEmpty{&o.KeyType}, "key", i18n.T("options.flag.key"))
	fs.Var(nonEmpty{&o.ConfigFile}, "config", i18n.T("options.flag.config"))
	fs.Var(nonEmpty{&o.CACertFile}, "ca-cert", i18n.T("options.flag.ca-cert"))
	fs.Var(nonEmpty{&o.CAKeyFile}, "ca-key", i18n.T("options.flag.ca-key"))
	fs.Var(nonEmpty{&o.DeviceCertFile}, "device-cert", i18n.T("options.flag.device-cert"))
	fs.Var(nonEmpty{&o.DeviceKeyFile}, "device-key", i18n.T("options.flag.device-key"))
	fs.BoolVarP(&o.Yes, "yes", "y", false, i18n.T("options.flag.yes"))
	fs.BoolVar(&o.ForceNewKeys, "force-new-keys", false, i18n.T("options.flag.force-new-keys"))
	fs.BoolVar(&o.CreatePolicy, "create-policy", false, i18n.T("options.flag.create-policy"))
}

// configKeys are the keys a --config file may use: the yaml names of Options (= the flag names).
func configKeys() []string {
	var keys []string
	t := reflect.TypeOf(Options{})
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("yaml"); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

var yamlUnknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// configError words a YAML decoding error for the user: an unknown key is named as such
// (not as a Go type's field) with the keys that exist.
func configError(file string, err error) error {
	msg := err.Error()
	unknown := false
	var te *yaml.TypeError
	if errors.As(err, &te) {
		parts := make([]string, 0, len(te.Errors))
		for _, m := range te.Errors {
			if yamlUnknownField.MatchString(m) {
				unknown = true
				m = yamlUnknownField.ReplaceAllStringFunc(m, func(f string) string {
					return i18n.T("options.config.unknown-key", i18n.Args{"Key": yamlUnknownField.FindStringSubmatch(f)[1]})
				})
			}
			parts = append(parts, m)
		}
		msg = strings.Join(parts, "; ")
	}
	if unknown {
		return i18n.NewError("options.config.unknown", i18n.Args{"File": file, "Msg": msg, "Keys": strings.Join(configKeys(), ", ")})
	}
	return i18n.NewError("options.config.bad", i18n.Args{"File": file, "Msg": msg})
}

// WithConfig returns o overlaid on the options of its --config file (flags win).
func (o Options) WithConfig() (Options, error) {
	if o.ConfigFile == "" {
		return o, nil
	}
	b, err := os.ReadFile(o.ConfigFile)
	if err != nil {
		return o, i18n.WrapError(err, "options.config.read", i18n.Args{"File": o.ConfigFile})
	}
	var c Options
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return o, configError(o.ConfigFile, err)
	}
	// Relative paths in the config file are relative to the file.
	base := filepath.Dir(o.ConfigFile)
	for _, p := range []*string{&c.CACertFile, &c.CAKeyFile, &c.DeviceCertFile, &c.DeviceKeyFile, &c.Dir, &c.ServerCA} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	if c.Template != "" && !isVariant(c.Template) && !filepath.IsAbs(c.Template) {
		c.Template = filepath.Join(base, c.Template)
	}
	out := c.overlay(o)
	if o.Dir == "" || o.Dir == DefaultDir {
		if c.Dir != "" {
			out.Dir = c.Dir
		}
	}
	out.Yes = o.Yes || c.Yes
	out.JSON = o.JSON || c.JSON
	out.ForceNewKeys = o.ForceNewKeys || c.ForceNewKeys
	out.CreatePolicy = o.CreatePolicy || c.CreatePolicy
	return out, nil
}

// Unset given as an option's value clears a saved value (e.g. --endpoint-url - goes back to
// the embedded IoT Core, --org - drops O from the device subject).
const Unset = "-"

// overlay returns o with every non-empty value of given on top (Unset clears).
func (o Options) overlay(given Options) Options {
	pick := func(dst *string, v string) {
		switch v {
		case "":
		case Unset:
			*dst = ""
		default:
			*dst = v
		}
	}
	out := o
	pick(&out.Dir, given.Dir)
	pick(&out.Target, given.Target)
	pick(&out.Profile, given.Profile)
	pick(&out.Region, given.Region)
	pick(&out.EndpointURL, given.EndpointURL)
	pick(&out.Mode, given.Mode)
	pick(&out.CAMode, given.CAMode)
	pick(&out.Port, given.Port)
	pick(&out.KeyType, given.KeyType)
	pick(&out.CACountry, given.CACountry)
	pick(&out.CAOrg, given.CAOrg)
	pick(&out.Thing, given.Thing)
	pick(&out.Country, given.Country)
	pick(&out.Org, given.Org)
	pick(&out.OrgUnit, given.OrgUnit)
	pick(&out.State, given.State)
	pick(&out.Template, given.Template)
	pick(&out.PolicyName, given.PolicyName)
	pick(&out.RoleARN, given.RoleARN)
	pick(&out.MQTTEndpoint, given.MQTTEndpoint)
	pick(&out.ServerCA, given.ServerCA)
	pick(&out.TrustCondition, given.TrustCondition)
	pick(&out.CACertFile, given.CACertFile)
	pick(&out.CAKeyFile, given.CAKeyFile)
	pick(&out.DeviceCertFile, given.DeviceCertFile)
	pick(&out.DeviceKeyFile, given.DeviceKeyFile)
	out.ConfigFile = given.ConfigFile
	out.Yes, out.JSON, out.ForceNewKeys, out.CreatePolicy = given.Yes, given.JSON, given.ForceNewKeys, given.CreatePolicy
	out.CleanWait, out.AtRecordedRegion = given.CleanWait, given.AtRecordedRegion
	return out
}

// resolve fills defaults, makes file paths absolute and records which required inputs of a
// new workspace were defaulted.
func (o *Options) resolve(newWorkspace bool) error {
	o.defaulted = nil
	def := func(dst *string, v, flag string, required bool) {
		if *dst == "" {
			*dst = v
			if required && newWorkspace {
				o.defaulted = append(o.defaulted, flag)
			}
		}
	}
	def(&o.Target, DefaultTarget, "--target", false)
	if o.Target == TargetLocal {
		def(&o.Region, DefaultLocalRegion, "--region", false)
	}
	def(&o.Mode, DefaultMode, "--mode", false)
	def(&o.CAMode, DefaultCAMode, "--ca-mode", false)
	def(&o.Port, DefaultPort, "--port", false)
	def(&o.KeyType, string(pki.DefaultKeyType), "--key", false)
	def(&o.CACountry, DefaultCACountry, "--ca-country", false)
	def(&o.CAOrg, DefaultCAOrg, "--ca-org", false)
	if o.DeviceCertFile == "" {
		def(&o.Thing, DefaultThing, "--thing", true)
		def(&o.Country, DefaultCountry, "--country", true)
	}
	def(&o.Template, DefaultTemplate, "--template", false)
	if o.Template == VariantNamed {
		def(&o.PolicyName, DefaultPolicyName, "--policy-name", false)
	}
	for _, p := range []*string{&o.CACertFile, &o.CAKeyFile, &o.DeviceCertFile, &o.DeviceKeyFile, &o.ServerCA} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	if !isVariant(o.Template) {
		abs, err := filepath.Abs(o.Template)
		if err != nil {
			return err
		}
		o.Template = abs
	}
	return nil
}

// Defaulted lists the flags of required inputs that took their default in a new workspace
// (e.g. --thing, --country). Without --yes and without a terminal to ask, that is an error.
func (o *Options) Defaulted() []string { return o.defaulted }

// Variant returns scoped, admin, named or custom.
func (o *Options) Variant() string {
	if isVariant(o.Template) {
		return o.Template
	}
	return VariantCustom
}

var (
	policyRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
)

// parseHostPort reads HOST:PORT (port 1–65535).
func parseHostPort(v string) (Endpoint, error) {
	h, p, err := net.SplitHostPort(v)
	if err != nil {
		return Endpoint{}, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || h == "" {
		return Endpoint{}, i18n.NewError("options.hostport")
	}
	return Endpoint{Host: h, Port: port}, nil
}

// ValidateRegion checks an AWS region name such as us-east-2.
func ValidateRegion(r string) error {
	if !policy.ValidRegion(r) {
		return i18n.NewError("options.region", i18n.Args{"Region": strconv.Quote(r)})
	}
	return nil
}

// Validate checks every option; errors name the flag and the fix. It reads the files the
// options point to (template, CA, device) but writes nothing.
func (o *Options) Validate() error {
	if err := o.validateTarget(); err != nil {
		return err
	}
	switch o.Mode {
	case ModeJITP, ModeJITR:
	default:
		return i18n.NewError("options.mode", i18n.Args{"Mode": strconv.Quote(o.Mode)})
	}
	switch o.CAMode {
	case CAModeDefault, CAModeSNIOnly:
	default:
		return i18n.NewError("options.ca-mode", i18n.Args{"Mode": strconv.Quote(o.CAMode)})
	}
	switch o.Port {
	case Port8883, Port443:
	default:
		return i18n.NewError("options.port", i18n.Args{"Port": strconv.Quote(o.Port)})
	}
	if _, err := pki.ParseKeyType(o.KeyType); err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	if err := pki.ValidateCountry(o.CACountry); err != nil {
		return fmt.Errorf("--ca-country: %w", err)
	}
	if err := pki.ValidateOrganization(o.CAOrg); err != nil {
		return fmt.Errorf("--ca-org: %w", err)
	}
	if o.Thing != "" {
		if err := pki.ValidateThingName(o.Thing); err != nil {
			return fmt.Errorf("--thing: %w", err)
		}
	}
	if o.DeviceCertFile == "" {
		if err := o.DeviceSubject().ValidateDevice(); err != nil {
			return fmt.Errorf("%s: %w", subjectFlag(err), err)
		}
	}
	if (o.CACertFile == "") != (o.CAKeyFile == "") {
		return i18n.NewError("options.ca-pair")
	}
	if (o.DeviceCertFile == "") != (o.DeviceKeyFile == "") {
		return i18n.NewError("options.device-pair")
	}
	if o.DeviceCertFile != "" && o.CACertFile == "" {
		return i18n.NewError("options.device-needs-ca")
	}
	for flag, p := range map[string]string{"--ca-cert": o.CACertFile, "--ca-key": o.CAKeyFile, "--device-cert": o.DeviceCertFile, "--device-key": o.DeviceKeyFile} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err != nil {
			return i18n.NewError("options.file.missing", i18n.Args{"Flag": flag, "File": p})
		} else if fi.IsDir() {
			return i18n.NewError("options.file.dir", i18n.Args{"Flag": flag, "File": p})
		}
	}
	if o.CreatePolicy && o.Template != VariantNamed {
		return i18n.NewError("options.create-policy")
	}
	if o.Template == VariantNamed || o.PolicyName != "" {
		if o.Template != VariantNamed {
			return i18n.NewError("options.policy-name.named")
		}
		if !policyRE.MatchString(o.PolicyName) {
			return i18n.NewError("options.policy-name.bad", i18n.Args{"Name": strconv.Quote(o.PolicyName)})
		}
	}
	if o.Target != TargetAWS && (o.MQTTEndpoint != "" || o.ServerCA != "") {
		return i18n.NewError("options.aws-only")
	}
	if o.MQTTEndpoint != "" {
		if _, err := parseHostPort(o.MQTTEndpoint); err != nil {
			return i18n.NewError("options.mqtt-endpoint", i18n.Args{"Value": strconv.Quote(o.MQTTEndpoint), "Err": err})
		}
	}
	if o.ServerCA != "" {
		b, err := os.ReadFile(o.ServerCA)
		if err != nil {
			return i18n.NewError("options.server-ca.read", i18n.Args{"File": o.ServerCA, "Err": err})
		}
		if certs, err := pki.ParseCertsPEM(b); err != nil || len(certs) == 0 {
			return i18n.NewError("options.server-ca.pem", i18n.Args{"File": o.ServerCA})
		}
	}
	if o.RoleARN != "" {
		if _, _, _, err := aws.ParseRoleARN(o.RoleARN); err != nil {
			return i18n.NewError("options.role-arn", i18n.Args{"Err": err})
		}
	}
	switch o.TrustCondition {
	case "", "on", "off":
	default:
		return i18n.NewError("options.trust-condition", i18n.Args{"Value": strconv.Quote(o.TrustCondition)})
	}
	return nil
}

// validateTarget checks the options that choose the target: --target, --region, --profile
// and --endpoint-url (doctor checks the same of the files it is given alone).
func (o *Options) validateTarget() error {
	switch o.Target {
	case TargetLocal, TargetAWS:
	default:
		return i18n.NewError("options.target", i18n.Args{"Target": strconv.Quote(o.Target)})
	}
	if o.Region != "" {
		if err := ValidateRegion(o.Region); err != nil {
			return err
		}
	}
	if o.Target == TargetLocal && o.Profile != "" {
		return i18n.NewError("options.profile", i18n.Args{"Profile": strconv.Quote(o.Profile)})
	}
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return i18n.NewError("options.endpoint-url", i18n.Args{"URL": strconv.Quote(o.EndpointURL)})
		}
	}
	return nil
}

// checkGiven refuses template options given for a JITR workspace (saved ones stay for a
// switch back to JITP): JITR registers the CA without a template.
func (o *Options) checkGiven(given Options) error {
	if o.jitr() && (given.Template != "" || given.PolicyName != "" || given.CreatePolicy) {
		return i18n.NewError("options.jitr-template")
	}
	return nil
}

// subjectFlag maps a pki field error to the flag that sets it, by the error's field ID (its
// words are in the user's language; the ID is stable).
func subjectFlag(err error) string {
	var fe *pki.FieldError
	if !errors.As(err, &fe) {
		return "--thing"
	}
	switch fe.FieldID {
	case pki.FieldCountry:
		return "--country"
	case pki.FieldOrganization:
		return "--org"
	case pki.FieldOrgUnit:
		return "--ou"
	case pki.FieldState:
		return "--state"
	}
	return "--thing" // the common name (= the thing name), or a subject without any
}

// DeviceSubject is the device certificate subject the options ask for (CN = thing name).
func (o *Options) DeviceSubject() pki.Subject {
	return pki.Subject{
		Country:            o.Country,
		Organization:       o.Org,
		OrganizationalUnit: o.OrgUnit,
		State:              o.State,
		CommonName:         o.Thing,
	}
}

// CASubject is the CA certificate subject (the conf defaults of step 2).
func (o *Options) CASubject() pki.Subject {
	return pki.Subject{Country: o.CACountry, Organization: o.CAOrg}
}
