package steps

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// WriteDoctor prints the Doctor checklist to w, one ✓/✗ line per check with its evidence,
// and returns an error counting the failed checks (nil when all pass).
func (s *Session) WriteDoctor(ctx context.Context, w io.Writer) error {
	failed := 0
	for _, l := range s.Doctor(ctx) {
		switch {
		case l.Kind == ResultCheck && l.OK:
			fmt.Fprintf(w, "✓ %s: %s\n", l.Label, l.Value)
		case l.Kind == ResultCheck:
			failed++
			fmt.Fprintf(w, "✗ %s: %s\n", l.Label, l.Value)
		default:
			fmt.Fprintf(w, "    %s\n", l.Value)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// Doctor checks a workspace against the known JITP failure modes (the README lists them) and returns
// a checklist with evidence; the last line is mqttprobe's diagnosis of a connection as the
// thing. It needs Connect for the cloud checks (without it they are left out).
func (s *Session) Doctor(ctx context.Context) []ResultLine {
	var out []ResultLine
	add := func(label, ev string, ok bool) { out = append(out, checkLine(label, ev, ok)) }
	d := s.Device()

	ca, caErr := signingCA(s)
	if caErr != nil {
		add("CA certificate and key", caErr.Error(), false)
	} else {
		add("CA certificate is a valid CA (CA:TRUE, key matches, in validity)", s.relName(s.CA.CertFile)+" "+s.CA.Subject, true)
	}
	dev, devErr := pki.LoadCertFile(s.Path(d.CertFile))
	switch {
	case devErr == nil:
	case s.DeviceFor(s.Options.Thing) == nil && len(s.Devices) > 0:
		add("device "+s.Options.Thing, fmt.Sprintf("this workspace has no device %s (it has %s) — check --thing, or make it with: jitpwiz run --dir %s --thing %s",
			s.Options.Thing, strings.Join(s.Things(), ", "), pki.ShellQuote(s.dir), pki.ShellQuote(s.Options.Thing)), false)
	default:
		add("device certificate", fmt.Sprintf("%s: %v — make it with: jitpwiz run --dir %s (step 9)", s.relName(d.CertFile), devErr, pki.ShellQuote(s.dir)), false)
	}
	if ca != nil && dev != nil {
		err := pki.CheckIssuedBy(dev, ca.Cert, s.Now())
		add("device certificate signed by the CA", evidenceOr(err, verifyCommand(s, s.relName(d.CertFile)).Line+": OK"), err == nil)
		add("certificate ID = SHA-256 of the leaf DER", pki.CertID(dev), true)
	}
	if s.Options.jitr() {
		out = append(out, noteLine("JITR workspace: no template — the activate step (11a), or a topic rule + Lambda, activates each certificate"))
	} else if b, err := os.ReadFile(s.Path(FileTemplate)); err != nil {
		add("template "+FileTemplate, err.Error()+" — make it with: jitpwiz run --dir "+pki.ShellQuote(s.dir)+" (step 7)", false)
	} else if rc, err := template.ParseRegistrationConfig(b); err != nil {
		add("template "+FileTemplate+" is a valid registration config", err.Error(), false)
	} else if t, err := template.Parse(rc.TemplateBody); err != nil {
		add("template body parses (escaping)", err.Error(), false)
	} else if dev != nil {
		_, err := lintTemplate(s, t, pki.JITPParameters(dev), "the device certificate "+pki.SubjectOf(dev).String())
		add("template parameters resolve from the device subject", evidenceOr(err, "every Ref resolves from "+pki.SubjectOf(dev).String()), err == nil)
	}
	c := s.client
	if c == nil {
		return append(out, noteLine("not connected: cloud checks skipped"))
	}
	// The ID the endpoint answered when it registered the CA (step 8); AWS's equals the
	// SHA-256 of the DER, another implementation's may not (moto hashes the PEM text).
	if caID := firstNonEmpty(s.CA.RegisteredID, s.CA.CertID); caID != "" {
		desc, err := c.FindCA(ctx, caID)
		switch {
		case err != nil:
			add("CA registered in "+s.Region, err.Error(), false)
		case desc == nil:
			add("CA registered in "+s.Region, "no CA with ID "+abbrev(caID)+" — register it with: jitpwiz run --dir "+pki.ShellQuote(s.dir)+" (step 8), or check --region", false)
		default:
			add("CA registered in "+s.Region, desc.ARN, true)
			update := func(args ...string) string {
				return awsCmd(s, "iot", append([]string{"update-ca-certificate", "--certificate-id", desc.ID}, args...)...)
			}
			if desc.Status == aws.StatusActive {
				add("CA ACTIVE", "status "+desc.Status, true)
			} else {
				add("CA ACTIVE", "status "+desc.Status+" — new devices are not provisioned (devices provisioned before keep connecting); "+
					"re-activate it: "+update("--new-status", aws.StatusActive), false)
			}
			if desc.AutoRegistrationStatus == aws.AutoRegEnable {
				add("CA auto-registration ENABLE", "autoRegistrationStatus "+desc.AutoRegistrationStatus, true)
			} else {
				add("CA auto-registration ENABLE", "autoRegistrationStatus "+desc.AutoRegistrationStatus+" — JITP never runs for new devices; "+
					"enable it: "+update("--new-auto-registration-status", aws.AutoRegEnable), false)
			}
			if want := firstNonEmpty(s.Options.certificateMode(), "DEFAULT"); firstNonEmpty(desc.CertificateMode, "DEFAULT") == want {
				add("CA certificate mode "+want, "certificateMode "+firstNonEmpty(desc.CertificateMode, "DEFAULT"), true)
			} else {
				add("CA certificate mode "+want, "certificateMode "+desc.CertificateMode+" — a CA's mode cannot be changed: remove it (jitpwiz clean) and register it again, or use --ca-mode "+
					map[bool]string{true: CAModeSNIOnly, false: CAModeDefault}[desc.CertificateMode == "SNI_ONLY"], false)
			}
			hasCfg := desc.RegistrationConfig != nil && desc.RegistrationConfig.TemplateBody != ""
			switch {
			case s.Options.jitr() && hasCfg:
				add("CA has no JITP template (JITR)", "the CA has a registrationConfig, so its template runs (JITP) and no registered event is published — remove it: "+
					update("--remove-auto-registration", "--new-auto-registration-status", aws.AutoRegEnable), false)
			case s.Options.jitr():
				add("CA has no JITP template (JITR)", "no registrationConfig: the first connect registers certificates PENDING_ACTIVATION", true)
			case hasCfg:
				add("CA has a JITP template (registrationConfig)", "role "+roleOf(desc), true)
			default:
				add("CA has a JITP template (registrationConfig)", "none: this is JITR, not JITP — attach the template: "+
					update("--registration-config", "file://"+FileTemplate), false)
			}
			// The template that runs is the one registered with the CA, which may have been
			// changed since step 8 (e.g. with the AWS CLI): check the device against it too.
			if hasCfg && dev != nil && !s.Options.jitr() {
				out = append(out, lintRegistered(s, desc.RegistrationConfig.TemplateBody, dev)...)
			}
		}
	}
	if s.Options.jitr() && dev != nil {
		out = append(out, jitrStatus(ctx, s, c, pki.CertID(dev))...)
	}
	if dev != nil && s.Endpoint.Host != "" {
		o := probeOptions(s, d.CertFile, s.Options.Thing)
		outcome := mqttprobe.Probe(ctx, o)
		f := mqttprobe.Facts{Outcome: &outcome, Options: o, Chain: nil, ThingName: s.Options.Thing, Region: s.Region}
		if ca != nil {
			f.CACert = ca.Cert
		}
		f.Chain = append(f.Chain, dev)
		mqttprobe.Gather(ctx, c, &f)
		dg := mqttprobe.Diagnose(f)
		why := dg.String()
		if s.Options.jitr() && dg.Class == mqttprobe.DiagCertPending {
			// No template ran: the certificate waits for its activation (said above).
			why = string(dg.Class) + ": the broker refused the certificate because it is PENDING_ACTIVATION — with JITR it stays so until it is activated (see above)"
		}
		add("connect as "+s.Options.Thing+" ("+s.Endpoint.Host+")", why, dg.OK || outcome.OK())
		for _, e := range dg.Evidence {
			out = append(out, noteLine(e))
		}
	}
	return out
}

// jitrStatus says where a JITR device certificate stands: not registered yet, left
// PENDING_ACTIVATION (registered, never activated), or ACTIVE.
func jitrStatus(ctx context.Context, s *Session, c aws.Client, certID string) []ResultLine {
	const label = "device certificate ACTIVE (JITR)"
	desc, err := c.DescribeCertificate(ctx, certID)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		return []ResultLine{checkLine(label, "certificate "+abbrev(certID)+" is not registered: the device has not connected yet — its first connect (step 11) registers it", false)}
	case err != nil:
		return []ResultLine{checkLine(label, err.Error(), false)}
	case desc.Status == aws.StatusPendingActivation:
		return []ResultLine{
			checkLine(label, "certificate "+abbrev(certID)+" is PENDING_ACTIVATION: JITR registered it on the first connect and nothing activated it — "+
				"AWS IoT refuses it until something does (the JITR guide's rule + Lambda; nothing activates a JITR certificate by itself)", false),
			noteLine("fix: jitpwiz run --dir " + pki.ShellQuote(s.dir) + " (step 11a activates it), or deploy " + "the topic rule + Lambda that step 11a writes (jitr_rule.json, jitr_activate.mjs)" + "; by hand: " +
				awsCmd(s, "iot", "update-certificate", "--certificate-id", certID, "--new-status", aws.StatusActive) + " — with a policy attached and the thing made first"),
		}
	case desc.Status != aws.StatusActive:
		return []ResultLine{checkLine(label, "certificate "+abbrev(certID)+" is "+desc.Status+": it was deactivated or revoked after it was registered", false)}
	}
	return []ResultLine{checkLine(label, "describe-certificate: status ACTIVE, CA "+abbrev(desc.CAID), true)}
}

func roleOf(d *aws.CADescription) string {
	if d.RegistrationConfig == nil {
		return ""
	}
	return d.RegistrationConfig.RoleArn
}

// evidenceOr is err in words, or ok when there is none.
func evidenceOr(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

// lintRegistered checks the device certificate against the template registered with the CA
// and says when that template is not the workspace's jitp_template.json.
func lintRegistered(s *Session, body string, dev *x509.Certificate) []ResultLine {
	label := "registered template's parameters resolve from the device subject"
	t, err := template.Parse(body)
	if err != nil {
		return []ResultLine{checkLine(label, "the CA's registrationConfig does not parse: "+err.Error(), false)}
	}
	var out []ResultLine
	if b, err := os.ReadFile(s.Path(FileTemplate)); err == nil {
		if rc, err := template.ParseRegistrationConfig(b); err == nil && !sameJSON(rc.TemplateBody, body) {
			out = append(out, noteLine("the template registered with the CA differs from "+FileTemplate+" (changed after step 8?); the registered one is what JITP runs"))
		}
	}
	_, err = lintTemplate(s, t, pki.JITPParameters(dev), "the device certificate "+pki.SubjectOf(dev).String())
	return append(out, checkLine(label, evidenceOr(err, "every Ref resolves from "+pki.SubjectOf(dev).String()), err == nil))
}

// sameJSON reports whether two JSON texts hold the same value (formatting aside).
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}
