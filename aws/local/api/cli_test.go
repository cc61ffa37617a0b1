package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// together runs independent checks as parallel subtests of one group and returns when
// all are done (each CLI start costs about a second of Python).
func together(t *testing.T, group string, checks map[string]func(t *testing.T)) {
	t.Helper()
	t.Run(group, func(t *testing.T) {
		for name, fn := range checks {
			t.Run(name, func(t *testing.T) { t.Parallel(); fn(t) })
		}
	})
	if t.Failed() {
		t.FailNow()
	}
}

// wantOnly fails the test unless list is exactly [want].
func wantOnly(t *testing.T, what string, list []string, want string) {
	t.Helper()
	if len(list) != 1 || list[0] != want {
		t.Fatalf("%s: %q, want only %q", what, list, want)
	}
}

// TestCLIWalkthroughControlPlane drives the control plane with the real Debian AWS CLI
// v2 exactly as the AWS JITP walkthrough does (plus the cleanup the wizard does).
func TestCLIWalkthroughControlPlane(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	const thingsReg = "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"

	// IAM: the provisioning role.
	e.writeFile("trust.json", []byte(trustPolicy))
	var role struct {
		Role struct{ RoleName, Arn, Path, AssumeRolePolicyDocument any }
	}
	e.cliOK(t, &role, "iam", "create-role", "--role-name", "JITPRole", "--assume-role-policy-document", "file://trust.json")
	roleARN := "arn:aws:iam::" + testAccount + ":role/JITPRole"
	if role.Role.Arn != roleARN || role.Role.Path != "/" {
		t.Fatalf("create-role: %+v", role)
	}
	// The CLI decodes the URL-encoded document back into JSON.
	if doc, ok := role.Role.AssumeRolePolicyDocument.(map[string]any); !ok || doc["Version"] != "2012-10-17" {
		t.Errorf("create-role AssumeRolePolicyDocument = %#v", role.Role.AssumeRolePolicyDocument)
	}
	var rc struct{ RegistrationCode string }
	together(t, "iam-sts", map[string]func(t *testing.T){
		"sts get-caller-identity": func(t *testing.T) {
			var ident struct{ Account, Arn, UserId string }
			e.cliOK(t, &ident, "sts", "get-caller-identity")
			if ident.Account != testAccount || !strings.HasPrefix(ident.Arn, "arn:aws:iam::"+testAccount+":") {
				t.Fatalf("get-caller-identity: %+v", ident)
			}
		},
		"create-role twice": func(t *testing.T) {
			e.cliFail(t, "EntityAlreadyExists", "iam", "create-role", "--role-name", "JITPRole", "--assume-role-policy-document", "file://trust.json")
		},
		"attach-role-policy": func(t *testing.T) {
			e.cliOK(t, nil, "iam", "attach-role-policy", "--role-name", "JITPRole", "--policy-arn", thingsReg)
			var attached struct {
				AttachedPolicies []struct{ PolicyName, PolicyArn string }
			}
			e.cliOK(t, &attached, "iam", "list-attached-role-policies", "--role-name", "JITPRole")
			if len(attached.AttachedPolicies) != 1 || attached.AttachedPolicies[0].PolicyName != "AWSIoTThingsRegistration" {
				t.Fatalf("list-attached-role-policies: %+v", attached)
			}
			e.cliFail(t, "DeleteConflict", "iam", "delete-role", "--role-name", "JITPRole")
		},
		"get-role": func(t *testing.T) {
			var got struct {
				Role struct{ RoleName, Arn string }
			}
			e.cliOK(t, &got, "iam", "get-role", "--role-name", "JITPRole")
			if got.Role.RoleName != "JITPRole" || got.Role.Arn != roleARN {
				t.Fatalf("get-role: %+v", got)
			}
			e.cliFail(t, "NoSuchEntity", "iam", "get-role", "--role-name", "Nope")
		},
		"get-registration-code": func(t *testing.T) {
			e.cliOK(t, &rc, "iot", "get-registration-code")
			if len(rc.RegistrationCode) != 64 {
				t.Fatalf("registration code %q", rc.RegistrationCode)
			}
			var again struct{ RegistrationCode string }
			e.cliOK(t, &again, "iot", "get-registration-code")
			if again != rc {
				t.Fatal("registration code changed between calls")
			}
		},
	})

	// Verification certificate and CA registration.
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "AMZ"})
	caID := pki.CertID(ca.Cert)
	e.writeFile("deviceRootCA.pem", []byte(pemOf(ca.Cert)))
	e.writeFile("verificationCert.crt", []byte(pemOf(ca.Issue(t, pki.Subject{CommonName: rc.RegistrationCode}).Cert)))
	e.writeFile("wrongCode.crt", []byte(pemOf(ca.Issue(t, pki.Subject{CommonName: strings.Repeat("ab", 32)}).Cert)))
	e.writeFile("leaf.pem", []byte(pemOf(ca.Issue(t, pki.Subject{CommonName: "NotACA"}).Cert)))
	e.writeFile("bad_template.json", []byte(`{"templateBody":"{\"Resources\":{\"x\":{\"Type\":\"AWS::S3::Bucket\"}}}","roleArn":"`+roleARN+`"}`))
	cfg, err := template.Render(template.Scoped, testRegion, testAccount, roleARN, "")
	if err != nil {
		t.Fatal(err)
	}
	e.writeFile("jitp_template.json", cfg)
	together(t, "register-ca refused", map[string]func(t *testing.T){
		"wrong registration code": func(t *testing.T) {
			e.cliFail(t, "RegistrationCodeValidationException", "iot", "register-ca-certificate",
				"--ca-certificate", "file://deviceRootCA.pem", "--verification-certificate", "file://wrongCode.crt")
		},
		"not a CA": func(t *testing.T) {
			e.cliFail(t, "CertificateValidationException", "iot", "register-ca-certificate",
				"--ca-certificate", "file://leaf.pem", "--verification-certificate", "file://verificationCert.crt")
		},
		"invalid template": func(t *testing.T) {
			e.cliFail(t, "InvalidRequestException", "iot", "register-ca-certificate",
				"--ca-certificate", "file://deviceRootCA.pem", "--verification-certificate", "file://verificationCert.crt",
				"--registration-config", "file://bad_template.json")
		},
	})
	if err := e.st.View(func(st *store.State) error {
		if n := st.CountCAs(); n != 0 {
			t.Fatalf("refused registrations left %d CAs", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var reg struct{ CertificateArn, CertificateId string }
	e.cliOK(t, &reg, "iot", "register-ca-certificate", "--ca-certificate", "file://deviceRootCA.pem",
		"--verification-certificate", "file://verificationCert.crt", "--set-as-active", "--allow-auto-registration",
		"--registration-config", "file://jitp_template.json")
	if reg.CertificateId != caID || reg.CertificateArn != "arn:aws:iot:"+testRegion+":"+testAccount+":cacert/"+caID {
		t.Fatalf("register-ca-certificate: %+v", reg)
	}
	together(t, "registered CA", map[string]func(t *testing.T){
		"duplicate": func(t *testing.T) {
			errs := e.cliFail(t, "ResourceAlreadyExistsException", "iot", "register-ca-certificate", "--ca-certificate", "file://deviceRootCA.pem",
				"--verification-certificate", "file://verificationCert.crt")
			if !strings.Contains(errs, "already") {
				t.Errorf("duplicate CA message: %s", errs)
			}
		},
		"describe-ca-certificate": func(t *testing.T) {
			var desc struct {
				CertificateDescription struct {
					CertificateId, Status, AutoRegistrationStatus, CertificateMode, OwnedBy, CertificatePem string
					CreationDate                                                                            time.Time
					Validity                                                                                struct{ NotBefore, NotAfter time.Time }
				}
				RegistrationConfig struct{ TemplateBody, RoleArn string }
			}
			e.cliOK(t, &desc, "iot", "describe-ca-certificate", "--certificate-id", caID)
			d := desc.CertificateDescription
			if d.Status != "ACTIVE" || d.AutoRegistrationStatus != "ENABLE" || d.CertificateMode != "DEFAULT" || d.OwnedBy != testAccount {
				t.Fatalf("describe-ca-certificate: %+v", d)
			}
			// The CLI parsed the epoch-second numbers and printed them as ISO 8601.
			if time.Since(d.CreationDate) > time.Hour || !d.Validity.NotAfter.After(d.Validity.NotBefore) {
				t.Errorf("timestamps: %+v", d)
			}
			if desc.RegistrationConfig.RoleArn != roleARN || !strings.Contains(desc.RegistrationConfig.TemplateBody, "AWS::IoT::Thing") {
				t.Errorf("registrationConfig: %+v", desc.RegistrationConfig)
			}
			if strings.TrimSpace(d.CertificatePem) != strings.TrimSpace(pemOf(ca.Cert)) {
				t.Error("certificatePem differs from the registered PEM")
			}
		},
		"list-ca-certificates": func(t *testing.T) {
			var cas struct {
				Certificates []struct{ CertificateId, Status string }
			}
			e.cliOK(t, &cas, "iot", "list-ca-certificates")
			if len(cas.Certificates) != 1 || cas.Certificates[0].CertificateId != caID || cas.Certificates[0].Status != "ACTIVE" {
				t.Fatalf("list-ca-certificates: %+v", cas)
			}
		},
		"describe-endpoint": func(t *testing.T) {
			var ep struct{ EndpointAddress string }
			e.cliOK(t, &ep, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS")
			if ep.EndpointAddress != "localhost" {
				t.Fatalf("describe-endpoint: %+v", ep)
			}
		},
	})

	// A device provisioned by JITP (the broker's part, done here in the store), then
	// the walkthrough's verification commands.
	certID, certARN := e.provisionDevice(ca, caID, "DemoThing", "DemoPolicy")
	together(t, "provisioned device", map[string]func(t *testing.T){
		"describe-thing": func(t *testing.T) {
			var thing struct {
				ThingName, ThingArn, DefaultClientId string
				Attributes                           map[string]string
				Version                              int
			}
			e.cliOK(t, &thing, "iot", "describe-thing", "--thing-name", "DemoThing")
			if thing.ThingName != "DemoThing" || thing.Attributes["country"] != "IN" || thing.Version != 1 || thing.DefaultClientId != "DemoThing" {
				t.Fatalf("describe-thing: %+v", thing)
			}
		},
		"list-thing-principals": func(t *testing.T) {
			var principals struct{ Principals []string }
			e.cliOK(t, &principals, "iot", "list-thing-principals", "--thing-name", "DemoThing")
			wantOnly(t, "list-thing-principals", principals.Principals, certARN)
		},
		"describe-certificate": func(t *testing.T) {
			var cert struct {
				CertificateDescription struct{ CertificateId, CaCertificateId, Status string }
			}
			e.cliOK(t, &cert, "iot", "describe-certificate", "--certificate-id", certID)
			if cert.CertificateDescription.Status != "ACTIVE" || cert.CertificateDescription.CaCertificateId != caID {
				t.Fatalf("describe-certificate: %+v", cert)
			}
		},
		"list-attached-policies": func(t *testing.T) {
			// The cert ARN travels as a percent-encoded path label.
			var pols struct {
				Policies []struct{ PolicyName, PolicyArn string }
			}
			e.cliOK(t, &pols, "iot", "list-attached-policies", "--target", certARN)
			if len(pols.Policies) != 1 || pols.Policies[0].PolicyName != "DemoPolicy" {
				t.Fatalf("list-attached-policies: %+v", pols)
			}
		},
		"get-policy": func(t *testing.T) {
			var pol struct{ PolicyName, PolicyDocument, DefaultVersionId string }
			e.cliOK(t, &pol, "iot", "get-policy", "--policy-name", "DemoPolicy")
			if pol.PolicyDocument != allowAll || pol.DefaultVersionId != "1" {
				t.Fatalf("get-policy: %+v", pol)
			}
		},
		"list-certificates-by-ca": func(t *testing.T) {
			var byCA struct {
				Certificates []struct{ CertificateId, Status string }
			}
			e.cliOK(t, &byCA, "iot", "list-certificates-by-ca", "--ca-certificate-id", caID)
			if len(byCA.Certificates) != 1 || byCA.Certificates[0].CertificateId != certID {
				t.Fatalf("list-certificates-by-ca: %+v", byCA)
			}
		},
		"list-targets-for-policy": func(t *testing.T) {
			var targets struct{ Targets []string }
			e.cliOK(t, &targets, "iot", "list-targets-for-policy", "--policy-name", "DemoPolicy")
			wantOnly(t, "list-targets-for-policy", targets.Targets, certARN)
		},
	})

	// Guards, and policies by hand.
	e.writeFile("policy.json", []byte(allowAll))
	together(t, "guards", map[string]func(t *testing.T){
		"delete attached policy": func(t *testing.T) {
			e.cliFail(t, "DeleteConflictException", "iot", "delete-policy", "--policy-name", "DemoPolicy")
		},
		"delete active certificate": func(t *testing.T) {
			e.cliFail(t, "CertificateStateException", "iot", "delete-certificate", "--certificate-id", certID)
		},
		"delete active CA": func(t *testing.T) {
			e.cliFail(t, "CertificateStateException", "iot", "delete-ca-certificate", "--certificate-id", caID)
		},
		"delete thing with principal": func(t *testing.T) {
			e.cliFail(t, "InvalidRequestException", "iot", "delete-thing", "--thing-name", "DemoThing")
		},
		"malformed policy": func(t *testing.T) {
			e.cliFail(t, "MalformedPolicyException", "iot", "create-policy", "--policy-name", "Bad", "--policy-document", `{"Statement":`)
		},
		"policy lifecycle": func(t *testing.T) {
			var created struct{ PolicyName, PolicyArn, PolicyVersionId string }
			e.cliOK(t, &created, "iot", "create-policy", "--policy-name", "Extra", "--policy-document", "file://policy.json")
			if created.PolicyVersionId != "1" || created.PolicyArn != "arn:aws:iot:"+testRegion+":"+testAccount+":policy/Extra" {
				t.Fatalf("create-policy: %+v", created)
			}
			e.cliFail(t, "ResourceAlreadyExistsException", "iot", "create-policy", "--policy-name", "Extra", "--policy-document", "file://policy.json")
			e.cliOK(t, nil, "iot", "attach-policy", "--policy-name", "Extra", "--target", certARN)
			e.cliOK(t, nil, "iot", "detach-policy", "--policy-name", "Extra", "--target", certARN)
			e.cliOK(t, nil, "iot", "delete-policy", "--policy-name", "Extra")
			e.cliFail(t, "ResourceNotFoundException", "iot", "get-policy", "--policy-name", "Extra")
		},
	})

	// Cleanup in the wizard's order.
	e.cliOK(t, nil, "iot", "detach-policy", "--policy-name", "DemoPolicy", "--target", certARN)
	e.cliOK(t, nil, "iot", "update-certificate", "--certificate-id", certID, "--new-status", "INACTIVE")
	if len(e.certs) != 1 || e.certs[0] != certID+"=INACTIVE" {
		t.Errorf("OnCertificateStatus calls: %v", e.certs)
	}
	e.cliFail(t, "DeleteConflictException", "iot", "delete-certificate", "--certificate-id", certID) // thing still attached
	e.cliOK(t, nil, "iot", "detach-thing-principal", "--thing-name", "DemoThing", "--principal", certARN)
	e.cliOK(t, nil, "iot", "delete-certificate", "--certificate-id", certID)
	e.cliOK(t, nil, "iot", "delete-thing", "--thing-name", "DemoThing")
	e.cliOK(t, nil, "iot", "delete-policy", "--policy-name", "DemoPolicy")
	e.cliOK(t, nil, "iot", "update-ca-certificate", "--certificate-id", caID, "--new-status", "INACTIVE",
		"--new-auto-registration-status", "DISABLE", "--remove-auto-registration")
	var desc struct {
		CertificateDescription struct{ Status, AutoRegistrationStatus string }
		RegistrationConfig     *struct{ TemplateBody string }
	}
	e.cliOK(t, &desc, "iot", "describe-ca-certificate", "--certificate-id", caID)
	if desc.CertificateDescription.Status != "INACTIVE" || desc.CertificateDescription.AutoRegistrationStatus != "DISABLE" || desc.RegistrationConfig != nil {
		t.Fatalf("after update-ca-certificate: %+v %+v", desc.CertificateDescription, desc.RegistrationConfig)
	}
	e.cliOK(t, nil, "iot", "delete-ca-certificate", "--certificate-id", caID)
	e.cliFail(t, "ResourceNotFoundException", "iot", "describe-ca-certificate", "--certificate-id", caID)
	e.cliOK(t, nil, "iot", "delete-registration-code")
	var rc2 struct{ RegistrationCode string }
	e.cliOK(t, &rc2, "iot", "get-registration-code")
	if rc2.RegistrationCode == rc.RegistrationCode || len(rc2.RegistrationCode) != 64 {
		t.Error("delete-registration-code did not retire the code")
	}
	e.cliOK(t, nil, "iam", "detach-role-policy", "--role-name", "JITPRole", "--policy-arn", thingsReg)
	e.cliOK(t, nil, "iam", "delete-role", "--role-name", "JITPRole")

	// Event log: the control plane recorded the CA registration.
	var kinds []string
	for _, ev := range e.st.Events(0) {
		kinds = append(kinds, ev.Kind)
	}
	if !strings.Contains(strings.Join(kinds, ","), store.EventCARegistered) {
		t.Errorf("events: %v", kinds)
	}
}

// TestCLISNIOnlyAndWrongRegion covers SNI_ONLY registration and the region check.
func TestCLISNIOnlyAndWrongRegion(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "SNI"})
	e.writeFile("ca.pem", []byte(pemOf(ca.Cert)))
	var reg struct{ CertificateId string }
	e.cliOK(t, &reg, "iot", "register-ca-certificate", "--ca-certificate", "file://ca.pem", "--certificate-mode", "SNI_ONLY")
	together(t, "checks", map[string]func(t *testing.T){
		"describe": func(t *testing.T) {
			var desc struct {
				CertificateDescription struct{ CertificateMode, Status string }
			}
			e.cliOK(t, &desc, "iot", "describe-ca-certificate", "--certificate-id", reg.CertificateId)
			if desc.CertificateDescription.CertificateMode != "SNI_ONLY" || desc.CertificateDescription.Status != "INACTIVE" {
				t.Fatalf("SNI_ONLY CA: %+v", desc)
			}
		},
		"wrong region": func(t *testing.T) {
			// A request signed for another region is refused, naming the served region.
			_, errs, code := e.cli(t, "iot", "list-ca-certificates", "--region", "eu-west-1")
			if code == 0 || !strings.Contains(errs, "us-east-2") {
				t.Fatalf("wrong region: exit %d, %s", code, errs)
			}
		},
	})
}

// TestCLIPagination: the AWS CLI pages by itself (botocore's paginators: nextToken /
// maxResults for things, marker / pageSize → nextMarker for policies, certificates and
// policy targets), joining pages of the server's default size (25 for those, 50 for
// things). On ListThings --page-size makes it ask for small pages and join them, and
// --max-items stops early with a NextToken that --starting-token resumes from. Where the
// operation's own size parameter is pageSize, --page-size is that parameter and turns
// the CLI's paging off (as against AWS): one page, and its NextMarker for --marker.
func TestCLIPagination(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var things, policies, targets []string
	for i := 0; i < 23; i++ {
		name := fmt.Sprintf("t%02d", i)
		things = append(things, name)
		r(e.iot.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String(name),
			AttributePayload: &types.AttributePayload{Attributes: map[string]string{"n": fmt.Sprint(i % 3)}}})).must(t)
	}
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("p%02d", i)
		policies = append(policies, name)
		r(e.iot.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: sdkaws.String(name), PolicyDocument: sdkaws.String(allowAll)})).must(t)
	}
	for i := 0; i < 27; i++ {
		tg := fmt.Sprintf("arn:aws:iot:%s:%s:thinggroup/g%02d", testRegion, testAccount, i)
		targets = append(targets, tg)
		r(e.iot.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: sdkaws.String("p00"), Target: sdkaws.String(tg)})).must(t)
	}
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Paging"})
	var certs []string // oldest first
	if err := e.st.Update(func(st *store.State) error {
		for i := 0; i < 27; i++ {
			c, err := st.RegisterDeviceCert(ca.Issue(t, pki.Subject{CommonName: fmt.Sprint("d", i)}).Cert, "", store.StatusActive)
			if err != nil {
				return err
			}
			certs = append(certs, c.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reversed := func(s []string) []string { out := slices.Clone(s); slices.Reverse(out); return out }
	together(t, "cli", map[string]func(t *testing.T){
		"list-things --page-size 5": func(t *testing.T) {
			var out struct{ Things []struct{ ThingName string } }
			e.cliOK(t, &out, "iot", "list-things", "--page-size", "5")
			got := mapNames(out.Things, func(x struct{ ThingName string }) string { return x.ThingName })
			if !slices.Equal(got, things) {
				t.Fatalf("list-things in pages of 5: %v", got)
			}
		},
		"list-things --max-items, --starting-token": func(t *testing.T) {
			var got []string
			args := []string{"iot", "list-things", "--max-items", "10", "--page-size", "4"}
			for calls := 0; ; calls++ {
				var out struct {
					Things    []struct{ ThingName string }
					NextToken string
				}
				e.cliOK(t, &out, args...)
				got = append(got, mapNames(out.Things, func(x struct{ ThingName string }) string { return x.ThingName })...)
				if out.NextToken == "" || calls > 5 {
					break
				}
				args = []string{"iot", "list-things", "--max-items", "10", "--page-size", "4", "--starting-token", out.NextToken}
			}
			if !slices.Equal(got, things) {
				t.Fatalf("list-things by 10 with --starting-token: %v", got)
			}
		},
		"list-things filtered": func(t *testing.T) {
			var out struct{ Things []struct{ ThingName string } }
			e.cliOK(t, &out, "iot", "list-things", "--page-size", "2", "--attribute-name", "n", "--attribute-value", "1")
			got := mapNames(out.Things, func(x struct{ ThingName string }) string { return x.ThingName })
			if len(got) != 8 || got[0] != "t01" || got[7] != "t22" {
				t.Fatalf("list-things n=1 in pages of 2: %v", got)
			}
		},
		"list-policies": func(t *testing.T) {
			var out struct{ Policies []struct{ PolicyName string } }
			e.cliOK(t, &out, "iot", "list-policies")
			got := mapNames(out.Policies, func(x struct{ PolicyName string }) string { return x.PolicyName })
			if !slices.Equal(got, reversed(policies)) {
				t.Fatalf("list-policies (descending by default): %v", got)
			}
			e.cliOK(t, &out, "iot", "list-policies", "--ascending-order")
			if got := mapNames(out.Policies, func(x struct{ PolicyName string }) string { return x.PolicyName }); !slices.Equal(got, policies) {
				t.Fatalf("list-policies --ascending-order: %v", got)
			}
		},
		"list-policies --page-size, --marker": func(t *testing.T) {
			var out struct {
				Policies   []struct{ PolicyName string }
				NextMarker string
			}
			e.cliOK(t, &out, "iot", "list-policies", "--ascending-order", "--page-size", "4")
			first := mapNames(out.Policies, func(x struct{ PolicyName string }) string { return x.PolicyName })
			if !slices.Equal(first, policies[:4]) || out.NextMarker == "" {
				t.Fatalf("list-policies --page-size 4: %v, NextMarker %q", first, out.NextMarker)
			}
			e.cliOK(t, &out, "iot", "list-policies", "--ascending-order", "--page-size", "4", "--marker", out.NextMarker)
			if got := mapNames(out.Policies, func(x struct{ PolicyName string }) string { return x.PolicyName }); !slices.Equal(got, policies[4:8]) {
				t.Fatalf("list-policies --marker: %v", got)
			}
		},
		"list-certificates": func(t *testing.T) {
			var out struct {
				Certificates []struct{ CertificateId string }
			}
			e.cliOK(t, &out, "iot", "list-certificates")
			got := mapNames(out.Certificates, func(x struct{ CertificateId string }) string { return x.CertificateId })
			if !slices.Equal(got, reversed(certs)) {
				t.Fatalf("list-certificates (newest first): %v, want %v", got, reversed(certs))
			}
		},
		"list-targets-for-policy": func(t *testing.T) {
			var out struct{ Targets []string }
			e.cliOK(t, &out, "iot", "list-targets-for-policy", "--policy-name", "p00")
			if !slices.Equal(out.Targets, targets) {
				t.Fatalf("list-targets-for-policy: %v", out.Targets)
			}
		},
		"bad marker": func(t *testing.T) {
			e.cliFail(t, "InvalidRequestException", "iot", "list-policies", "--marker", "bm90LWEtbWFya2Vy")
		},
	})
}

func mapNames[T any](in []T, f func(T) string) []string {
	out := []string{}
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}
