package api

import (
	"encoding/json"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// IAM inline and customer managed policies with the real AWS CLI: what it sends and how
// it reads IAM's URL-encoded documents and markers.
func TestCLIRolePoliciesAndManagedPolicies(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	e.writeFile("trust.json", []byte(trustPolicy))
	e.writeFile("things.json", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:CreateThing","iot:UpdateCertificate"],"Resource":"*"}]}`))
	e.writeFile("principal.json", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iot:*","Resource":"*"}]}`))
	e.cliOK(t, nil, "iam", "create-role", "--role-name", "JITPRole", "--assume-role-policy-document", "file://trust.json")
	e.cliOK(t, nil, "iam", "create-role", "--role-name", "Other", "--path", "/svc/", "--assume-role-policy-document", "file://trust.json")
	e.cliOK(t, nil, "iam", "put-role-policy", "--role-name", "JITPRole", "--policy-name", "provisioning", "--policy-document", "file://things.json")
	e.cliOK(t, nil, "iam", "put-role-policy", "--role-name", "JITPRole", "--policy-name", "another", "--policy-document", "file://things.json")
	var mine struct {
		Policy struct {
			PolicyName, Arn, DefaultVersionId, Path string
			AttachmentCount                         int
			IsAttachable                            bool
		}
	}
	e.cliOK(t, &mine, "iam", "create-policy", "--policy-name", "JITPProvisioning", "--policy-document", "file://things.json")
	if mine.Policy.Arn != "arn:aws:iam::"+testAccount+":policy/JITPProvisioning" || mine.Policy.DefaultVersionId != "v1" || !mine.Policy.IsAttachable {
		t.Fatalf("create-policy: %+v", mine)
	}
	together(t, "iam", map[string]func(t *testing.T){
		"get-role-policy": func(t *testing.T) {
			var got struct {
				RoleName, PolicyName string
				PolicyDocument       map[string]any
			}
			e.cliOK(t, &got, "iam", "get-role-policy", "--role-name", "JITPRole", "--policy-name", "provisioning")
			if got.RoleName != "JITPRole" || got.PolicyName != "provisioning" || got.PolicyDocument["Version"] != "2012-10-17" {
				t.Fatalf("get-role-policy (the CLI decodes the URL-encoded document): %+v", got)
			}
		},
		"list-role-policies, paged": func(t *testing.T) {
			var got struct{ PolicyNames []string }
			e.cliOK(t, &got, "iam", "list-role-policies", "--role-name", "JITPRole", "--page-size", "1")
			if strings.Join(got.PolicyNames, ",") != "another,provisioning" {
				t.Fatalf("list-role-policies across pages: %+v", got)
			}
		},
		"list-roles": func(t *testing.T) {
			var got struct {
				Roles []struct{ RoleName, Path string }
			}
			e.cliOK(t, &got, "iam", "list-roles", "--page-size", "1")
			if len(got.Roles) != 2 || got.Roles[0].RoleName != "JITPRole" || got.Roles[1].Path != "/svc/" {
				t.Fatalf("list-roles: %+v", got)
			}
			e.cliOK(t, &got, "iam", "list-roles", "--path-prefix", "/svc/")
			if len(got.Roles) != 1 || got.Roles[0].RoleName != "Other" {
				t.Fatalf("list-roles --path-prefix: %+v", got)
			}
		},
		"malformed and principal documents": func(t *testing.T) {
			errs := e.cliFail(t, "MalformedPolicyDocument", "iam", "put-role-policy", "--role-name", "JITPRole", "--policy-name", "p", "--policy-document", "file://principal.json")
			if !strings.Contains(errs, "Policy document should not specify a principal.") {
				t.Fatalf("principal: %s", errs)
			}
		},
		"attach a managed policy that does not exist": func(t *testing.T) {
			errs := e.cliFail(t, "NoSuchEntity", "iam", "attach-role-policy", "--role-name", "Other", "--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSIoTThingRegistration")
			if !strings.Contains(errs, "does not exist or is not attachable") {
				t.Fatalf("unknown managed policy: %s", errs)
			}
		},
		"customer managed policy": func(t *testing.T) {
			e.cliOK(t, nil, "iam", "attach-role-policy", "--role-name", "Other", "--policy-arn", mine.Policy.Arn)
			var ver struct {
				PolicyVersion struct {
					Document         map[string]any
					VersionId        string
					IsDefaultVersion bool
				}
			}
			e.cliOK(t, &ver, "iam", "get-policy-version", "--policy-arn", mine.Policy.Arn, "--version-id", "v1")
			if ver.PolicyVersion.VersionId != "v1" || !ver.PolicyVersion.IsDefaultVersion || ver.PolicyVersion.Document["Version"] != "2012-10-17" {
				t.Fatalf("get-policy-version: %+v", ver)
			}
			e.cliFail(t, "DeleteConflict", "iam", "delete-policy", "--policy-arn", mine.Policy.Arn)
		},
		"AWS managed policy document": func(t *testing.T) {
			var ver struct {
				PolicyVersion struct{ Document map[string]any }
			}
			e.cliOK(t, &ver, "iam", "get-policy-version", "--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration", "--version-id", "v3")
			if !strings.Contains(mustJSON(t, ver.PolicyVersion.Document), "iot:RegisterThing") {
				t.Fatalf("AWSIoTThingsRegistration document: %+v", ver)
			}
		},
	})
	e.cliFail(t, "DeleteConflict", "iam", "delete-role", "--role-name", "JITPRole") // inline policies left
	e.cliOK(t, nil, "iam", "delete-role-policy", "--role-name", "JITPRole", "--policy-name", "provisioning")
	e.cliOK(t, nil, "iam", "delete-role-policy", "--role-name", "JITPRole", "--policy-name", "another")
	e.cliOK(t, nil, "iam", "delete-role", "--role-name", "JITPRole")
}

// Provisioning templates and their versions with the real AWS CLI, and a CA registered
// with a registrationConfig that names a template.
func TestCLIProvisioningTemplates(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	roleARN := "arn:aws:iam::" + testAccount + ":role/JITPRole"
	cfg, err := template.Render(template.Scoped, testRegion, testAccount, roleARN, "")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := template.ParseRegistrationConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.writeFile("body.json", []byte(rc.TemplateBody))
	e.writeFile("bad.json", []byte(`{"Resources":{"x":{"Type":"AWS::S3::Bucket"}}}`))
	var created struct {
		TemplateArn, TemplateName string
		DefaultVersionId          int
	}
	e.cliOK(t, &created, "iot", "create-provisioning-template", "--template-name", "JITPTemplate", "--type", "JITP",
		"--template-body", "file://body.json", "--provisioning-role-arn", roleARN, "--enabled", "--description", "walkthrough")
	if created.TemplateArn != "arn:aws:iot:"+testRegion+":"+testAccount+":provisioningtemplate/JITPTemplate" || created.DefaultVersionId != 1 {
		t.Fatalf("create-provisioning-template: %+v", created)
	}
	e.cliOK(t, nil, "iot", "create-provisioning-template", "--template-name", "Fleet", "--template-body", "file://body.json", "--provisioning-role-arn", roleARN)
	var v2 struct {
		VersionId        int
		IsDefaultVersion bool
	}
	e.cliOK(t, &v2, "iot", "create-provisioning-template-version", "--template-name", "JITPTemplate", "--template-body", "file://body.json", "--set-as-default")
	if v2.VersionId != 2 || !v2.IsDefaultVersion {
		t.Fatalf("create-provisioning-template-version: %+v", v2)
	}

	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Templates"})
	var code struct{ RegistrationCode string }
	e.cliOK(t, &code, "iot", "get-registration-code")
	e.writeFile("ca.pem", []byte(pemOf(ca.Cert)))
	e.writeFile("verification.pem", []byte(pemOf(ca.Issue(t, pki.Subject{CommonName: code.RegistrationCode}).Cert)))
	register := func(name string) []string {
		return []string{"iot", "register-ca-certificate", "--ca-certificate", "file://ca.pem", "--verification-certificate", "file://verification.pem",
			"--set-as-active", "--allow-auto-registration", "--registration-config", "templateName=" + name}
	}
	together(t, "templates", map[string]func(t *testing.T){
		"describe": func(t *testing.T) {
			var d struct {
				TemplateName, TemplateBody, Type, ProvisioningRoleArn, Description string
				DefaultVersionId                                                   int
				Enabled                                                            bool
				CreationDate                                                       time.Time
			}
			e.cliOK(t, &d, "iot", "describe-provisioning-template", "--template-name", "JITPTemplate")
			if d.Type != "JITP" || d.DefaultVersionId != 2 || !d.Enabled || d.TemplateBody != rc.TemplateBody || d.ProvisioningRoleArn != roleARN ||
				d.Description != "walkthrough" || time.Since(d.CreationDate) > time.Hour {
				t.Fatalf("describe-provisioning-template: %+v", d)
			}
		},
		"list": func(t *testing.T) {
			var l struct {
				Templates []struct {
					TemplateName, Type string
					Enabled            bool
				}
			}
			e.cliOK(t, &l, "iot", "list-provisioning-templates", "--page-size", "1")
			if len(l.Templates) != 2 || l.Templates[0].TemplateName != "Fleet" || l.Templates[1].Type != "JITP" {
				t.Fatalf("list-provisioning-templates: %+v", l)
			}
			var vs struct {
				Versions []struct {
					VersionId        int
					IsDefaultVersion bool
				}
			}
			e.cliOK(t, &vs, "iot", "list-provisioning-template-versions", "--template-name", "JITPTemplate")
			if len(vs.Versions) != 2 || vs.Versions[0].IsDefaultVersion || !vs.Versions[1].IsDefaultVersion {
				t.Fatalf("list-provisioning-template-versions: %+v", vs)
			}
		},
		"versions": func(t *testing.T) {
			var v struct {
				VersionId        int
				TemplateBody     string
				IsDefaultVersion bool
			}
			e.cliOK(t, &v, "iot", "describe-provisioning-template-version", "--template-name", "JITPTemplate", "--version-id", "1")
			if v.VersionId != 1 || v.IsDefaultVersion || v.TemplateBody != rc.TemplateBody {
				t.Fatalf("describe-provisioning-template-version: %+v", v)
			}
			e.cliFail(t, "DeleteConflictException", "iot", "delete-provisioning-template-version", "--template-name", "JITPTemplate", "--version-id", "2")
		},
		"invalid body": func(t *testing.T) {
			e.cliFail(t, "InvalidRequestException", "iot", "create-provisioning-template", "--template-name", "Bad", "--type", "JITP",
				"--template-body", "file://bad.json", "--provisioning-role-arn", roleARN)
		},
		"register a CA naming a missing or fleet template": func(t *testing.T) {
			e.cliFail(t, "ResourceNotFoundException", register("Nope")...)
			errs := e.cliFail(t, "InvalidRequestException", register("Fleet")...)
			if !strings.Contains(errs, "type JITP") {
				t.Fatalf("fleet template: %s", errs)
			}
		},
	})
	var reg struct{ CertificateId string }
	e.cliOK(t, &reg, register("JITPTemplate")...)
	var desc struct {
		RegistrationConfig struct{ TemplateName string }
	}
	e.cliOK(t, &desc, "iot", "describe-ca-certificate", "--certificate-id", reg.CertificateId)
	if desc.RegistrationConfig.TemplateName != "JITPTemplate" {
		t.Fatalf("describe-ca-certificate: %+v", desc)
	}
	var byName struct {
		Certificates []struct{ CertificateId string }
	}
	e.cliOK(t, &byName, "iot", "list-ca-certificates", "--template-name", "JITPTemplate")
	if len(byName.Certificates) != 1 || byName.Certificates[0].CertificateId != reg.CertificateId {
		t.Fatalf("list-ca-certificates --template-name: %+v", byName)
	}
	e.cliFail(t, "DeleteConflictException", "iot", "delete-provisioning-template", "--template-name", "JITPTemplate")
	e.cliOK(t, nil, "iot", "update-provisioning-template", "--template-name", "JITPTemplate", "--default-version-id", "1", "--no-enabled")
	e.cliOK(t, nil, "iot", "delete-provisioning-template-version", "--template-name", "JITPTemplate", "--version-id", "2")
	e.cliOK(t, nil, "iot", "update-ca-certificate", "--certificate-id", reg.CertificateId, "--remove-auto-registration", "--new-auto-registration-status", "DISABLE")
	e.cliOK(t, nil, "iot", "delete-provisioning-template", "--template-name", "JITPTemplate")
}

// Thing types, thing groups and billing groups with the real AWS CLI.
func TestCLIThingTypesGroupsBillingGroups(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	e.cliFail(t, "ResourceNotFoundException", "iot", "create-thing", "--thing-name", "Bulb", "--thing-type-name", "lightBulb")
	e.cliOK(t, nil, "iot", "create-thing-type", "--thing-type-name", "lightBulb", "--thing-type-properties", "thingTypeDescription=bulbs,searchableAttributes=wattage")
	e.cliOK(t, nil, "iot", "create-thing-group", "--thing-group-name", "lights")
	e.cliOK(t, nil, "iot", "create-thing-group", "--thing-group-name", "v1-lightbulbs", "--parent-group-name", "lights")
	e.cliOK(t, nil, "iot", "create-billing-group", "--billing-group-name", "bulbs", "--billing-group-properties", "billingGroupDescription=lamps")
	e.cliOK(t, nil, "iot", "create-thing", "--thing-name", "Bulb", "--thing-type-name", "lightBulb", "--billing-group-name", "bulbs")
	e.cliOK(t, nil, "iot", "add-thing-to-thing-group", "--thing-group-name", "v1-lightbulbs", "--thing-name", "Bulb")
	together(t, "registry", map[string]func(t *testing.T){
		"thing type": func(t *testing.T) {
			var d struct {
				ThingTypeName, ThingTypeArn string
				ThingTypeProperties         struct {
					ThingTypeDescription string
					SearchableAttributes []string
				}
				ThingTypeMetadata struct {
					Deprecated   bool
					CreationDate time.Time
				}
			}
			e.cliOK(t, &d, "iot", "describe-thing-type", "--thing-type-name", "lightBulb")
			if d.ThingTypeArn != "arn:aws:iot:"+testRegion+":"+testAccount+":thingtype/lightBulb" || d.ThingTypeProperties.ThingTypeDescription != "bulbs" ||
				len(d.ThingTypeProperties.SearchableAttributes) != 1 || d.ThingTypeMetadata.Deprecated || time.Since(d.ThingTypeMetadata.CreationDate) > time.Hour {
				t.Fatalf("describe-thing-type: %+v", d)
			}
			var things struct {
				Things []struct{ ThingName string }
			}
			e.cliOK(t, &things, "iot", "list-things", "--thing-type-name", "lightBulb")
			if len(things.Things) != 1 || things.Things[0].ThingName != "Bulb" {
				t.Fatalf("list-things --thing-type-name: %+v", things)
			}
		},
		"thing groups": func(t *testing.T) {
			var d struct {
				ThingGroupArn      string
				Version            int
				ThingGroupMetadata struct {
					ParentGroupName         string
					RootToParentThingGroups []struct{ GroupName, GroupArn string }
				}
			}
			e.cliOK(t, &d, "iot", "describe-thing-group", "--thing-group-name", "v1-lightbulbs")
			if d.ThingGroupMetadata.ParentGroupName != "lights" || len(d.ThingGroupMetadata.RootToParentThingGroups) != 1 ||
				d.ThingGroupMetadata.RootToParentThingGroups[0].GroupName != "lights" || d.Version != 1 {
				t.Fatalf("describe-thing-group: %+v", d)
			}
			var g struct {
				ThingGroups []struct{ GroupName, GroupArn string }
			}
			e.cliOK(t, &g, "iot", "list-thing-groups-for-thing", "--thing-name", "Bulb")
			if len(g.ThingGroups) != 1 || g.ThingGroups[0].GroupName != "v1-lightbulbs" || g.ThingGroups[0].GroupArn != d.ThingGroupArn {
				t.Fatalf("list-thing-groups-for-thing: %+v", g)
			}
			var in struct{ Things []string }
			e.cliOK(t, &in, "iot", "list-things-in-thing-group", "--thing-group-name", "lights", "--recursive")
			if strings.Join(in.Things, ",") != "Bulb" {
				t.Fatalf("list-things-in-thing-group --recursive: %+v", in)
			}
			e.cliFail(t, "InvalidRequestException", "iot", "add-thing-to-thing-group", "--thing-group-name", "lights", "--thing-name", "Bulb") // same hierarchy
			e.cliFail(t, "InvalidRequestException", "iot", "delete-thing-group", "--thing-group-name", "lights")                               // has a child
		},
		"billing group": func(t *testing.T) {
			var th struct{ BillingGroupName, ThingTypeName string }
			e.cliOK(t, &th, "iot", "describe-thing", "--thing-name", "Bulb")
			if th.BillingGroupName != "bulbs" || th.ThingTypeName != "lightBulb" {
				t.Fatalf("describe-thing: %+v", th)
			}
			var d struct {
				BillingGroupProperties struct{ BillingGroupDescription string }
				BillingGroupMetadata   struct{ CreationDate time.Time }
			}
			e.cliOK(t, &d, "iot", "describe-billing-group", "--billing-group-name", "bulbs")
			if d.BillingGroupProperties.BillingGroupDescription != "lamps" || time.Since(d.BillingGroupMetadata.CreationDate) > time.Hour {
				t.Fatalf("describe-billing-group: %+v", d)
			}
			var in struct{ Things []string }
			e.cliOK(t, &in, "iot", "list-things-in-billing-group", "--billing-group-name", "bulbs")
			if strings.Join(in.Things, ",") != "Bulb" {
				t.Fatalf("list-things-in-billing-group: %+v", in)
			}
		},
	})
	e.cliOK(t, nil, "iot", "deprecate-thing-type", "--thing-type-name", "lightBulb")
	errs := e.cliFail(t, "InvalidRequestException", "iot", "create-thing", "--thing-name", "Bulb2", "--thing-type-name", "lightBulb")
	if !strings.Contains(errs, "deprecated") && !strings.Contains(errs, "depreated") {
		t.Fatalf("deprecated type: %s", errs)
	}
	errs = e.cliFail(t, "InvalidRequestException", "iot", "delete-thing-type", "--thing-type-name", "lightBulb")
	if !strings.Contains(errs, "deprecated") {
		t.Fatalf("delete right after deprecating: %s", errs)
	}
	e.cliOK(t, nil, "iot", "remove-thing-from-thing-group", "--thing-group-name", "v1-lightbulbs", "--thing-name", "Bulb")
	e.cliOK(t, nil, "iot", "delete-thing-group", "--thing-group-name", "v1-lightbulbs")
	e.cliOK(t, nil, "iot", "delete-billing-group", "--billing-group-name", "bulbs")
	var th struct{ BillingGroupName string }
	e.cliOK(t, &th, "iot", "describe-thing", "--thing-name", "Bulb")
	if th.BillingGroupName != "" {
		t.Fatalf("thing still in the deleted billing group: %+v", th)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
