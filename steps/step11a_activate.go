package steps

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 11a (JITR only): activate the certificate the first connect registered, as the JITR
// guide's Lambda does; and write that rule + Lambda for production.
type activateStep struct{ Base }

// Files of the activate step: the policy document its create-policy command reads, and the
// topic rule and Lambda function that do the same in production.
const (
	FileJITRPolicy = "jitr_policy.json"
	FileJITRRule   = "jitr_rule.json"
	FileJITRLambda = "jitr_activate.mjs"
)

// JITRRuleName and JITRFunctionName are the names the shown commands give the topic rule and
// the Lambda function.
const (
	JITRRuleName     = "JITRActivate"
	JITRFunctionName = "jitr-activate"
)

// jitrLambda is the Lambda function (Node.js, the language of AWS's JITR blog post).
//
//go:embed jitr_activate.mjs
var jitrLambda []byte

func (*activateStep) ID() ID          { return IDActivate }
func (*activateStep) Title() string   { return i18n.T("step11a.title") }
func (*activateStep) Explain() string { return i18n.T("step11a.explain") }

func (st *activateStep) record() record {
	s := st.s
	return record{
		perDevice: true,
		after:     []ID{IDFirstConnect},
		inputs: map[string]string{
			"device certificate": s.Device().CertID,
			"registered CA":      s.CA.RegisteredID,
			"target":             targetID(s),
		},
		outputs: []string{FileJITRPolicy, FileJITRRule, FileJITRLambda},
	}
}

// thing is the thing activation makes for the current device: its certificate's CN.
func (st *activateStep) thing() string {
	s := st.s
	if plan, err := jitrPlan(s, s.Device()); err == nil && plan.Thing.Name != "" {
		return plan.Thing.Name
	}
	return s.Options.Thing
}

func (st *activateStep) Commands() []string {
	s := st.s
	d := s.Device()
	cert, _, _, _ := deviceFiles(s)
	id := cmp.Or(d.CertID, "<certificate ID>")
	arn := cmp.Or(d.CertARN, "<certificate ARN>")
	thing := st.thing()
	caID := cmp.Or(s.CA.RegisteredID, "<CA certificate ID>")
	return []string{
		awsCmd(s, "iot", "describe-certificate", "--certificate-id", id, "--query", "certificateDescription.[status,caCertificateId]") +
			"   # " + i18n.T("step11a.cmd.pending", i18n.Args{"CA": abbrev(caID)}),
		verifyCommand(s, cert).Line,
		awsCmd(s, "iot", "create-thing", "--thing-name", thing),
		awsCmd(s, "iot", "create-policy", "--policy-name", JITRPolicyName, "--policy-document", "file://"+FileJITRPolicy),
		awsCmd(s, "iot", "attach-policy", "--policy-name", JITRPolicyName, "--target", arn),
		awsCmd(s, "iot", "attach-thing-principal", "--thing-name", thing, "--principal", arn),
		awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusActive),
		"# " + i18n.T("step11a.cmd.production", i18n.Args{"File": FileJITRLambda, "Local": st.s.Options.Target == TargetLocal}),
		"zip jitr_activate.zip " + FileJITRLambda,
		st.awsOnly("lambda", "create-function", "--function-name", JITRFunctionName, "--runtime", "nodejs20.x",
			"--handler", "jitr_activate.handler", "--zip-file", "fileb://jitr_activate.zip", "--role", "<ARN of a role the function may use>",
			"--environment", "Variables={CA_CERTIFICATE_ID="+caID+",POLICY_NAME="+JITRPolicyName+"}"),
		st.awsOnly("lambda", "add-permission", "--function-name", JITRFunctionName, "--statement-id", "iot-jitr",
			"--action", "lambda:InvokeFunction", "--principal", "iot.amazonaws.com", "--source-arn", st.ruleARN()),
		st.awsOnly("iot", "create-topic-rule", "--rule-name", JITRRuleName, "--topic-rule-payload", "file://"+FileJITRRule),
	}
}

// awsOnly is an AWS CLI command for AWS itself (the topic rule and the Lambda), whatever the
// target: the local IoT Core has no rules engine and no Lambda.
func (st *activateStep) awsOnly(service string, args ...string) string {
	line := joinShell(append([]string{"aws", service}, args...))
	if r := cmp.Or(st.s.Region, st.s.Options.Region); r != "" {
		line += " --region " + pki.ShellQuote(r)
	}
	if st.s.Options.Target == TargetAWS && st.s.Options.Profile != "" {
		line += " --profile " + pki.ShellQuote(st.s.Options.Profile)
	}
	return line
}

func (st *activateStep) arn(service, resource string) string {
	s := st.s
	return aws.ServiceARN(service, cmp.Or(s.Region, s.Options.Region, "<region>"), cmp.Or(s.Account, "<account>"), resource)
}

func (st *activateStep) ruleARN() string { return st.arn("iot", "rule/"+JITRRuleName) }

// ruleSQL selects the registered events of the workspace's CA.
func (st *activateStep) ruleSQL() string {
	return "SELECT * FROM '" + registeredTopic(cmp.Or(st.s.CA.RegisteredID, "<CA certificate ID>")) + "'"
}

// rulePayload is the create-topic-rule payload: the SQL and a Lambda action.
func (st *activateStep) rulePayload() ([]byte, error) {
	payload := map[string]any{
		"sql": st.ruleSQL(),
		// The rule's description is stored in AWS, read in its console by whoever runs it:
		// English, as the rest of the account's names.
		"description":      "jitpwiz: activate the device certificates JITR registers for CA " + st.s.CA.RegisteredID,
		"awsIotSqlVersion": "2016-03-23",
		"ruleDisabled":     false,
		"actions":          []any{map[string]any{"lambda": map[string]string{"functionArn": st.arn("lambda", "function:"+JITRFunctionName)}}},
	}
	b, err := json.MarshalIndent(payload, "", "  ")
	return append(b, '\n'), err
}

func (st *activateStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	ca, err := signingCA(s)
	if err != nil {
		return false, err
	}
	doc, err := scopedPolicyDocument(s)
	if err != nil {
		return false, err
	}
	rule, err := st.rulePayload()
	if err != nil {
		return false, err
	}
	for name, b := range map[string][]byte{FileJITRPolicy: []byte(prettyJSON(doc) + "\n"), FileJITRRule: rule, FileJITRLambda: jitrLambda} {
		if err := pki.WriteFile(s.Path(name), b, pki.CertMode, true); err != nil {
			return false, err
		}
	}
	res := &ActivateResult{}
	done := func(what string, already bool) {
		word := i18n.T("step11a.done")
		if already {
			word = i18n.T("step11a.already-done")
		}
		res.Actions = append(res.Actions, what+": "+word)
		st.reportf("%s: %s", what, word)
	}

	// 1. The certificate was registered by the first connect, from this CA, and its
	// signature is the CA's.
	desc, err := c.DescribeCertificate(ctx, d.CertID)
	if err != nil {
		if aws.IsKind(err, aws.KindNotFound) {
			return false, i18n.NewError("step11a.err.not-registered", i18n.Args{"ID": abbrev(d.CertID)})
		}
		return false, err
	}
	if desc.CAID != s.CA.RegisteredID {
		return false, i18n.NewError("step11a.err.other-ca", i18n.Args{"ID": abbrev(d.CertID), "CA": abbrev(desc.CAID), "Ours": abbrev(s.CA.RegisteredID)})
	}
	dev, err := pki.LoadCertFile(s.Path(d.CertFile))
	if err != nil {
		return false, err
	}
	if err := pki.CheckIssuedBy(dev, ca.Cert, s.Now()); err != nil {
		return false, i18n.NewError("step11a.err.not-issued", i18n.Args{"ID": abbrev(d.CertID), "Err": err})
	}
	switch desc.Status {
	case aws.StatusPendingActivation, aws.StatusActive:
	default:
		return false, i18n.NewError("step11a.err.status", i18n.Args{"ID": abbrev(d.CertID), "Status": desc.Status})
	}
	st.Report(Event{Message: i18n.T("step11a.checked", i18n.Args{"ID": abbrev(d.CertID), "Status": desc.Status, "CA": abbrev(desc.CAID)})})

	// 2. The thing, named by the certificate's CN.
	thing := dev.Subject.CommonName
	if err := pki.ValidateThingName(thing); err != nil {
		return false, i18n.NewError("step11a.err.cn", i18n.Args{"CN": fmt.Sprintf("%q", thing), "Err": err})
	}
	res.Thing = thing
	_, created, err := c.CreateThing(ctx, thing, nil)
	if err != nil {
		return false, err
	}
	res.ThingCreated = created
	done(i18n.T("step11a.act.thing", i18n.Args{"Thing": thing}), !created)

	// 3. The policy, created once and shared by every JITR device, attached.
	if _, err := c.GetPolicy(ctx, JITRPolicyName); aws.IsKind(err, aws.KindNotFound) {
		if _, err := c.CreatePolicy(ctx, JITRPolicyName, doc); err != nil && !aws.IsKind(err, aws.KindAlreadyExists) {
			return false, err
		}
		s.Activation.PolicyCreated = true
		done(i18n.T("step11a.act.policy", i18n.Args{"Policy": JITRPolicyName}), false)
	} else if err != nil {
		return false, err
	} else {
		done(i18n.T("step11a.act.policy", i18n.Args{"Policy": JITRPolicyName}), true)
	}
	s.Activation.PolicyName = JITRPolicyName
	pols, err := c.ListAttachedPolicies(ctx, desc.ARN)
	if err != nil {
		return false, err
	}
	attached := false
	for _, p := range pols {
		attached = attached || p.Name == JITRPolicyName
	}
	if !attached {
		if err := c.AttachPolicy(ctx, JITRPolicyName, desc.ARN); err != nil {
			return false, err
		}
	}
	done(i18n.T("step11a.act.attach-policy", i18n.Args{"Policy": JITRPolicyName}), attached)

	// 4. The certificate attached to the thing.
	already, err := c.AttachThingPrincipal(ctx, thing, desc.ARN)
	if err != nil {
		return false, err
	}
	done(i18n.T("step11a.act.attach-thing", i18n.Args{"Thing": thing}), already)

	// 5. Last, ACTIVE: the device gets in once everything it needs is there.
	active := desc.Status == aws.StatusActive
	if !active {
		if err := c.UpdateCertificate(ctx, d.CertID, aws.StatusActive); err != nil {
			return false, err
		}
	}
	done(i18n.T("step11a.act.active", i18n.Args{"ID": abbrev(d.CertID)}), active)
	d.ProvisionedThing = thing
	d.Activation = res
	reused := active && attached && already && !created
	return reused, nil
}

func (st *activateStep) Result() []ResultLine {
	s := st.s
	res := s.Device().Activation
	if res == nil {
		return nil
	}
	var out []ResultLine
	for _, a := range res.Actions {
		label, ev, _ := strings.Cut(a, ": ")
		out = append(out, checkLine(label, ev, true))
	}
	out = append(out,
		fileLine(i18n.T("step11a.result.policy"), FileJITRPolicy),
		fileLine(i18n.T("step11a.result.rule"), FileJITRRule),
		fileLine(i18n.T("step11a.result.lambda"), FileJITRLambda),
		valueLine(i18n.T("step11a.result.sql"), st.ruleSQL()),
		noteLine(i18n.T("step11a.result.deploy")),
		ResultLine{Kind: ResultDocument, Label: FileJITRLambda, Value: strings.TrimRight(string(jitrLambda), "\n"), OK: true},
	)
	return out
}

func (st *activateStep) Summary() string {
	res := st.s.Device().Activation
	if res == nil {
		return ""
	}
	return i18n.T("step11a.summary", i18n.Args{"Thing": res.Thing, "Policy": JITRPolicyName})
}
