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
		return errors.New("the value is empty (an unset shell variable?) — give a value, or leave the flag out for the saved or default one")
	}
	*v.p = s
	return nil
}

func (nonEmpty) Type() string { return "string" }

// BindFlags defines the flags shared by `jitpwiz run` and the TUI (`jitpwiz` with no
// subcommand) on fs, bound to o.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	o.Dir = DefaultDir
	fs.Var(nonEmpty{&o.Dir}, "dir", "workspace `DIR` (files and jitpwiz.json)")
	fs.Var(nonEmpty{&o.Target}, "target", "`TARGET`: local (embedded AWS IoT Core, default) or aws")
	fs.Var(nonEmpty{&o.Profile}, "profile", "AWS shared-config `PROFILE` (target aws)")
	fs.Var(nonEmpty{&o.Region}, "region", "AWS `REGION` (default: from the profile/env; us-east-2 for local)")
	fs.Var(nonEmpty{&o.EndpointURL}, "endpoint-url", "custom AWS API endpoint `URL` for IoT, IAM and STS alike (e.g. the one jitpwiz local prints); for one service only, set AWS_ENDPOINT_URL_IOT, _IAM or _STS instead")
	fs.Var(nonEmpty{&o.MQTTEndpoint}, "mqtt-endpoint", "target aws: MQTT broker `HOST:PORT` instead of DescribeEndpoint's host on 8883 (for an endpoint that is not AWS IoT)")
	fs.Var(nonEmpty{&o.ServerCA}, "server-ca", "target aws: PEM `FILE` of the CA that signs the broker's certificate, instead of Amazon Root CA 1 and 3")
	fs.Var(nonEmpty{&o.Mode}, "mode", "onboarding `MODE`: jitp (a template provisions the device, default) or jitr (registration; the activate step does the rest)")
	fs.Var(nonEmpty{&o.CAMode}, "ca-mode", "CA registration `MODE`: default (with a verification certificate) or sni-only (no registration code; devices must send SNI)")
	fs.Var(nonEmpty{&o.Port}, "port", "device `PORT`: 8883 (default) or 443 (with ALPN x-amzn-mqtt-ca)")
	fs.Var(nonEmpty{&o.Template}, "template", "provisioning `TEMPLATE`: scoped (default), admin, named or a template file")
	fs.Var(nonEmpty{&o.PolicyName}, "policy-name", "IoT policy `NAME` of the named template (default "+DefaultPolicyName+")")
	fs.Var(nonEmpty{&o.RoleARN}, "role-arn", "use this existing provisioning role `ARN` (step 6 then makes no IAM change; \"-\" goes back to JITPRole)")
	fs.Var(nonEmpty{&o.TrustCondition}, "trust-condition", "`on`: limit a role step 6 creates to this account and region (aws:SourceAccount/aws:SourceArn); off (default)")
	fs.Var(nonEmpty{&o.Thing}, "thing", "thing `NAME` = device certificate CN (default "+DefaultThing+")")
	fs.Var(nonEmpty{&o.Country}, "country", "device certificate country `CC` (default "+DefaultCountry+")")
	fs.Var(nonEmpty{&o.Org}, "org", "device certificate organization `O` (optional)")
	fs.Var(nonEmpty{&o.OrgUnit}, "ou", "device certificate organizational unit `OU` (optional)")
	fs.Var(nonEmpty{&o.State}, "state", "device certificate state `ST` (optional)")
	fs.Var(nonEmpty{&o.CACountry}, "ca-country", "CA certificate country `CC` (default "+DefaultCACountry+")")
	fs.Var(nonEmpty{&o.CAOrg}, "ca-org", "CA certificate organization `O` (default "+DefaultCAOrg+")")
	fs.Var(nonEmpty{&o.KeyType}, "key", "`TYPE` of new keys: rsa2048 (default), rsa3072, rsa4096, ec256, ec384")
	fs.Var(nonEmpty{&o.ConfigFile}, "config", "YAML `FILE` of options (keys are the flag names)")
	fs.Var(nonEmpty{&o.CACertFile}, "ca-cert", "use your CA certificate `FILE` (root or intermediate) instead of creating one")
	fs.Var(nonEmpty{&o.CAKeyFile}, "ca-key", "private key `FILE` of --ca-cert")
	fs.Var(nonEmpty{&o.DeviceCertFile}, "device-cert", "test your device certificate `FILE` instead of creating one")
	fs.Var(nonEmpty{&o.DeviceKeyFile}, "device-key", "private key `FILE` of --device-cert")
	fs.BoolVarP(&o.Yes, "yes", "y", false, "accept defaults and confirmations")
	fs.BoolVar(&o.ForceNewKeys, "force-new-keys", false, "replace existing private keys (and everything made from them)")
	fs.BoolVar(&o.CreatePolicy, "create-policy", false, "named template: create the policy if it does not exist")
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
				m = yamlUnknownField.ReplaceAllString(m, "unknown key \"$1\"")
			}
			parts = append(parts, m)
		}
		msg = strings.Join(parts, "; ")
	}
	if unknown {
		return fmt.Errorf("--config %s: %s — the keys are the flag names: %s", file, msg, strings.Join(configKeys(), ", "))
	}
	return fmt.Errorf("--config %s: %s — keys are the flag names, e.g. `thing: DemoThing`", file, msg)
}

// WithConfig returns o overlaid on the options of its --config file (flags win).
func (o Options) WithConfig() (Options, error) {
	if o.ConfigFile == "" {
		return o, nil
	}
	b, err := os.ReadFile(o.ConfigFile)
	if err != nil {
		return o, fmt.Errorf("--config %s: %w — give the path of a YAML file", o.ConfigFile, err)
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

func isVariant(t string) bool {
	return t == VariantScoped || t == VariantAdmin || t == VariantNamed
}

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
		return Endpoint{}, fmt.Errorf("the host is empty or the port is not 1–65535")
	}
	return Endpoint{Host: h, Port: port}, nil
}

// ValidateRegion checks an AWS region name such as us-east-2.
func ValidateRegion(r string) error {
	if !policy.ValidRegion(r) {
		return fmt.Errorf("--region %q is not an AWS region name — use one like us-east-2 or eu-west-1", r)
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
		return fmt.Errorf("--mode %q: must be jitp (Just-in-Time Provisioning with a template) or jitr (Just-in-Time Registration)", o.Mode)
	}
	switch o.CAMode {
	case CAModeDefault, CAModeSNIOnly:
	default:
		return fmt.Errorf("--ca-mode %q: must be default (register the CA with a verification certificate) or sni-only (no verification; devices must send SNI)", o.CAMode)
	}
	switch o.Port {
	case Port8883, Port443:
	default:
		return fmt.Errorf("--port %q: AWS IoT takes MQTT with X.509 certificates on 8883, or on 443 with ALPN x-amzn-mqtt-ca — use 8883 or 443", o.Port)
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
		return fmt.Errorf("--ca-cert and --ca-key go together — give both (your CA certificate and its private key) or neither")
	}
	if (o.DeviceCertFile == "") != (o.DeviceKeyFile == "") {
		return fmt.Errorf("--device-cert and --device-key go together — give both or neither")
	}
	if o.DeviceCertFile != "" && o.CACertFile == "" {
		return fmt.Errorf("--device-cert needs the CA that signed it: add --ca-cert and --ca-key (the CA must be registered with its key to prove possession)")
	}
	for flag, p := range map[string]string{"--ca-cert": o.CACertFile, "--ca-key": o.CAKeyFile, "--device-cert": o.DeviceCertFile, "--device-key": o.DeviceKeyFile} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s %s: no such file — give the path of a PEM file", flag, p)
		} else if fi.IsDir() {
			return fmt.Errorf("%s %s is a directory — give the path of a PEM file", flag, p)
		}
	}
	if o.CreatePolicy && o.Template != VariantNamed {
		return fmt.Errorf("--create-policy is only used with --template named (the other templates make their own policy) — drop it, or add --template named")
	}
	if o.Template == VariantNamed || o.PolicyName != "" {
		if o.Template != VariantNamed {
			return fmt.Errorf("--policy-name is only used with --template named — drop it, or add --template named")
		}
		if !policyRE.MatchString(o.PolicyName) {
			return fmt.Errorf("--policy-name %q: an IoT policy name is 1–128 letters, digits and + = , . @ _ - — choose another name", o.PolicyName)
		}
	}
	if o.Target != TargetAWS && (o.MQTTEndpoint != "" || o.ServerCA != "") {
		return fmt.Errorf("--mqtt-endpoint and --server-ca are for --target aws (the local target knows its broker and its CA) — drop them, or add --target aws")
	}
	if o.MQTTEndpoint != "" {
		if _, err := parseHostPort(o.MQTTEndpoint); err != nil {
			return fmt.Errorf("--mqtt-endpoint %q: %v — give HOST:PORT, e.g. localhost:8883", o.MQTTEndpoint, err)
		}
	}
	if o.ServerCA != "" {
		b, err := os.ReadFile(o.ServerCA)
		if err != nil {
			return fmt.Errorf("--server-ca %s: cannot read it (%v) — give the PEM file of the CA that signs the broker's certificate", o.ServerCA, err)
		}
		if certs, err := pki.ParseCertsPEM(b); err != nil || len(certs) == 0 {
			return fmt.Errorf("--server-ca %s: not a PEM certificate file — give the PEM file of the CA that signs the broker's certificate", o.ServerCA)
		}
	}
	if o.RoleARN != "" {
		if _, _, _, err := aws.ParseRoleARN(o.RoleARN); err != nil {
			return fmt.Errorf("--role-arn: %v — copy the role's Arn from `aws iam get-role --role-name <name>`", err)
		}
	}
	switch o.TrustCondition {
	case "", "on", "off":
	default:
		return fmt.Errorf("--trust-condition %q: must be on (add aws:SourceAccount/aws:SourceArn to the new role's trust policy) or off", o.TrustCondition)
	}
	if !isVariant(o.Template) {
		if _, err := loadTemplateFile(o.Template); err != nil {
			return err
		}
	}
	return nil
}

// validateTarget checks the options that choose the target: --target, --region, --profile
// and --endpoint-url (doctor checks the same of the files it is given alone).
func (o *Options) validateTarget() error {
	switch o.Target {
	case TargetLocal, TargetAWS:
	default:
		return fmt.Errorf("--target %q: must be local (the embedded AWS IoT Core) or aws", o.Target)
	}
	if o.Region != "" {
		if err := ValidateRegion(o.Region); err != nil {
			return err
		}
	}
	if o.Target == TargetLocal && o.Profile != "" {
		return fmt.Errorf("--profile %q is only used with --target aws — drop it, or add --target aws", o.Profile)
	}
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--endpoint-url %q is not an http(s) URL — use e.g. http://127.0.0.1:4566 (what `jitpwiz local` prints)", o.EndpointURL)
		}
	}
	return nil
}

// checkGiven refuses template options given for a JITR workspace (saved ones stay for a
// switch back to JITP): JITR registers the CA without a template.
func (o *Options) checkGiven(given Options) error {
	if o.jitr() && (given.Template != "" || given.PolicyName != "" || given.CreatePolicy) {
		return fmt.Errorf("--template, --policy-name and --create-policy are for --mode jitp: JITR registers the CA without a template (the activate step attaches its own policy) — drop them, or use --mode jitp")
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
