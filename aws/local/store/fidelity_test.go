package store

import (
	"fmt"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openWith(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	if opts.Region == "" {
		opts.Region = "ap-south-1"
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const iotTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestRoleInlineAndManagedPolicies(t *testing.T) {
	s := openTemp(t)
	do := func(fn func(st *State) error) error { return s.Update(fn) }
	must := func(err error) { t.Helper(); noErr(t, err) }
	must(do(func(st *State) error {
		_, err := st.CreateRole(CreateRoleInput{Name: "R", TrustPolicy: iotTrust})
		return err
	}))
	allowThing := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:CreateThing","Resource":"*"}]}`

	wantCode(t, do(func(st *State) error { return st.PutRolePolicy("Nope", "p", allowThing) }), CodeIAMNoSuchEntity)
	ae := wantCode(t, do(func(st *State) error { return st.PutRolePolicy("R", "p", `{"Version":`) }), CodeIAMMalformedPolicy)
	if !strings.HasPrefix(ae.Message, "This policy contains invalid Json") {
		t.Errorf("invalid JSON message: %s", ae.Message)
	}
	ae = wantCode(t, do(func(st *State) error {
		return st.PutRolePolicy("R", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iot:*","Resource":"*"}]}`)
	}), CodeIAMMalformedPolicy)
	if ae.Message != "Policy document should not specify a principal." {
		t.Errorf("principal message: %s", ae.Message)
	}
	ae = wantCode(t, do(func(st *State) error {
		return st.PutRolePolicy("R", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*"}]}`)
	}), CodeIAMMalformedPolicy)
	if !strings.HasPrefix(ae.Message, "Syntax errors in policy.") || !strings.Contains(ae.Message, "no Resource") {
		t.Errorf("syntax message: %s", ae.Message)
	}
	wantCode(t, do(func(st *State) error { return st.PutRolePolicy("R", "bad name", allowThing) }), CodeIAMInvalidInput)
	must(do(func(st *State) error { return st.PutRolePolicy("R", "p", allowThing) }))
	must(do(func(st *State) error { return st.PutRolePolicy("R", "p", allowThing) })) // replaces
	// 10,240 characters for all inline policies of a role, white space not counted.
	big := func(n int) string {
		var res []string
		for i := 0; i < n; i++ {
			res = append(res, fmt.Sprintf(`"arn:aws:iot:ap-south-1:123456789012:thing/%040d"`, i))
		}
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:CreateThing","Resource":[` + strings.Join(res, ",") + `]}]}`
	}
	ae = wantCode(t, do(func(st *State) error { return st.PutRolePolicy("R", "big", big(130)) }), CodeIAMLimitExceeded)
	if ae.Message != "Maximum policy size of 10240 bytes exceeded for role R" {
		t.Errorf("size message: %s", ae.Message)
	}
	must(do(func(st *State) error { return st.PutRolePolicy("R", "big", big(90)) }))
	_ = s.View(func(st *State) error {
		if got := st.RolePolicyNames("R"); strings.Join(got, ",") != "big,p" {
			t.Errorf("RolePolicyNames = %v", got)
		}
		p, err := st.RolePolicy("R", "p")
		if err != nil || p.Document != allowThing {
			t.Errorf("RolePolicy = %+v, %v", p, err)
		}
		_, err = st.RolePolicy("R", "none")
		wantCode(t, err, CodeIAMNoSuchEntity)
		names, next, err := st.ListRolePolicies("R", Page{Limit: 1})
		if err != nil || len(names) != 1 || names[0] != "big" || next == nil {
			t.Errorf("ListRolePolicies page 1 = %v %q %v", names, next, err)
		}
		return nil
	})
	ae = wantCode(t, do(func(st *State) error { return st.DeleteRole("R") }), CodeIAMDeleteConflict)
	if !strings.Contains(ae.Message, "must delete policies first") {
		t.Errorf("delete role with inline policies: %s", ae.Message)
	}

	// Managed policies: AWS's known ones, customer ones, and ARNs that exist nowhere.
	ae = wantCode(t, do(func(st *State) error {
		return st.AttachRolePolicy("R", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistratio")
	}), CodeIAMNoSuchEntity)
	if !strings.Contains(ae.Message, "does not exist or is not attachable") {
		t.Errorf("unknown managed policy: %s", ae.Message)
	}
	wantCode(t, do(func(st *State) error { return st.AttachRolePolicy("R", "arn:aws:iam::123456789012:policy/Mine") }), CodeIAMNoSuchEntity)
	var mine *ManagedPolicy
	must(do(func(st *State) error {
		var err error
		mine, err = st.CreateManagedPolicy(CreateManagedPolicyInput{Name: "Mine", Path: "/jitp/", Document: allowThing})
		return err
	}))
	if mine.ARN != "arn:aws:iam::123456789012:policy/jitp/Mine" || mine.DefaultVersionID != "v1" || !strings.HasPrefix(mine.ID, "ANPA") {
		t.Fatalf("CreateManagedPolicy = %+v", mine)
	}
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateManagedPolicy(CreateManagedPolicyInput{Name: "mine", Document: allowThing})
		return err
	}), CodeIAMEntityAlreadyExists) // names are not distinguished by case
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateManagedPolicy(CreateManagedPolicyInput{Name: "Big", Document: big(100)})
		return err
	}), CodeIAMLimitExceeded) // 6,144 characters for a managed policy
	must(do(func(st *State) error { return st.AttachRolePolicy("R", mine.ARN) }))
	must(do(func(st *State) error {
		return st.AttachRolePolicy("R", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	}))
	wantCode(t, do(func(st *State) error { return st.DeleteManagedPolicy(mine.ARN) }), CodeIAMDeleteConflict)
	_ = s.View(func(st *State) error {
		if n := st.PolicyAttachmentCount(mine.ARN); n != 1 {
			t.Errorf("attachment count %d", n)
		}
		p, err := st.ManagedPolicy("arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
		if err != nil || !p.AWSManaged() || p.DefaultVersionID != "v3" || !strings.Contains(p.Document, `"iot:CreateThing"`) {
			t.Errorf("AWSIoTThingsRegistration = %+v, %v", p, err)
		}
		return nil
	})
	// At most 10 managed policies per role.
	for i := 0; i < 8; i++ {
		must(do(func(st *State) error {
			p, err := st.CreateManagedPolicy(CreateManagedPolicyInput{Name: fmt.Sprintf("P%d", i), Document: allowThing})
			if err != nil {
				return err
			}
			return st.AttachRolePolicy("R", p.ARN)
		}))
	}
	ae = wantCode(t, do(func(st *State) error {
		p, err := st.CreateManagedPolicy(CreateManagedPolicyInput{Name: "P11", Document: allowThing})
		if err != nil {
			return err
		}
		return st.AttachRolePolicy("R", p.ARN)
	}), CodeIAMLimitExceeded)
	if ae.Message != "Cannot exceed quota for PoliciesPerRole: 10" {
		t.Errorf("quota message: %s", ae.Message)
	}
	must(do(func(st *State) error { return st.DetachRolePolicy("R", mine.ARN) }))
	must(do(func(st *State) error { return st.DeleteManagedPolicy(mine.ARN) }))
	must(do(func(st *State) error { return st.DeleteRolePolicy("R", "p") }))
	wantCode(t, do(func(st *State) error { return st.DeleteRolePolicy("R", "p") }), CodeIAMNoSuchEntity)
}

// EvaluateRole follows IAM's rules over the role's inline and managed policies.
func TestEvaluateRole(t *testing.T) {
	s := openTemp(t)
	thingARN := "arn:aws:iot:ap-south-1:123456789012:thing/Dev1"
	cases := []struct {
		name    string
		inline  []string
		managed []string
		action  string
		allowed bool
		deny    bool
	}{
		{"trust only", nil, nil, "iot:CreateThing", false, false},
		{"AWSIoTThingsRegistration", nil, []string{"arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"}, "iot:CreateThing", true, false},
		{"AWSIoTThingsRegistration has no CreateThingType", nil, []string{"arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"}, "iot:CreateThingType", false, false},
		{"AWSIoTLogging alone", nil, []string{"arn:aws:iam::aws:policy/service-role/AWSIoTLogging"}, "iot:CreateThing", false, false},
		{"action wildcard, case-insensitive", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"IOT:create*","Resource":"arn:aws:iot:ap-south-1:123456789012:thing/*"}}`}, nil, "iot:CreateThing", true, false},
		{"resource mismatch", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:ap-south-1:123456789012:thing/Other*"}}`}, nil, "iot:CreateThing", false, false},
		{"NotAction", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iot:Delete*","Resource":"*"}}`}, nil, "iot:CreateThing", true, false},
		{"NotAction excludes it", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iot:Create*","Resource":"*"}}`}, nil, "iot:CreateThing", false, false},
		{"NotResource", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","NotResource":"arn:aws:iot:*:*:thing/Dev1"}}`}, nil, "iot:CreateThing", false, false},
		{"explicit deny wins", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:CreateThing","Resource":"*"}}`},
			[]string{"arn:aws:iam::aws:policy/AWSIoTFullAccess"}, "iot:CreateThing", false, true},
		{"condition on the requested region", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"ap-south-1"}}}}`}, nil, "iot:CreateThing", true, false},
		{"condition on another region", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}}`}, nil, "iot:CreateThing", false, false},
		{"condition on a key the request lacks", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}}`}, nil, "iot:CreateThing", false, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("Role%d", i)
			err := s.Update(func(st *State) error {
				if _, err := st.CreateRole(CreateRoleInput{Name: name, TrustPolicy: iotTrust}); err != nil {
					return err
				}
				for j, doc := range c.inline {
					if err := st.PutRolePolicy(name, fmt.Sprintf("p%d", j), doc); err != nil {
						return err
					}
				}
				for _, arn := range c.managed {
					if err := st.AttachRolePolicy(name, arn); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			_ = s.View(func(st *State) error {
				r, _ := st.Role(name)
				d := st.EvaluateRole(r, c.action, thingARN)
				if d.Allowed != c.allowed || d.ExplicitDeny != c.deny {
					t.Errorf("EvaluateRole = %+v, want allowed %v, deny %v", d, c.allowed, c.deny)
				}
				if (d.Allowed || d.ExplicitDeny) && d.By == "" {
					t.Errorf("decision does not say which statement decided: %+v", d)
				}
				return nil
			})
		})
	}
}

func TestThingTypesGroupsAndBillingGroups(t *testing.T) {
	clk := &clock{t: time.Now().Truncate(time.Second)}
	s := openWith(t, filepath.Join(t.TempDir(), DirName), Options{Now: clk.now})
	do := func(fn func(st *State) error) error { return s.Update(fn) }
	must := func(err error) { t.Helper(); noErr(t, err) }
	create := func(name, typ string) error {
		return do(func(st *State) error { _, err := st.CreateThing(name, typ, nil); return err })
	}

	// Thing types: must exist, and not be deprecated, for a new thing to have one.
	wantCode(t, create("T0", "Sensor"), CodeResourceNotFound)
	must(do(func(st *State) error {
		_, err := st.CreateThingType(CreateThingTypeInput{Name: "Sensor", Description: "d", SearchableAttributes: []string{"model"}})
		return err
	}))
	must(do(func(st *State) error {
		_, err := st.CreateThingType(CreateThingTypeInput{Name: "Sensor", Description: "d", SearchableAttributes: []string{"model"}})
		return err
	})) // the same again: success
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateThingType(CreateThingTypeInput{Name: "Sensor", Description: "other"})
		return err
	}), CodeResourceAlreadyExists)
	must(create("T1", "Sensor"))
	wantCode(t, do(func(st *State) error { return st.DeleteThingType("Sensor") }), CodeInvalidRequest) // not deprecated
	must(do(func(st *State) error { return st.DeprecateThingType("Sensor", false) }))
	ae := wantCode(t, create("T2", "Sensor"), CodeInvalidRequest)
	if ae.Message != "Can not create new thing with depreated thing type:Sensor" {
		t.Errorf("deprecated type message: %s", ae.Message)
	}
	clk.add(4 * time.Minute)
	ae = wantCode(t, do(func(st *State) error { return st.DeleteThingType("Sensor") }), CodeInvalidRequest)
	if !strings.Contains(ae.Message, "in 1m0s") {
		t.Errorf("early delete: %s", ae.Message)
	}
	clk.add(time.Minute)
	ae = wantCode(t, do(func(st *State) error { return st.DeleteThingType("Sensor") }), CodeInvalidRequest)
	if !strings.Contains(ae.Message, "thing T1") {
		t.Errorf("delete with things: %s", ae.Message)
	}
	must(do(func(st *State) error { return st.DeleteThing("T1", nil) }))
	must(do(func(st *State) error { return st.DeleteThingType("Sensor") }))

	// Thing groups: a hierarchy, one group of a hierarchy per thing, ten groups at most.
	group := func(name, parent string) error {
		return do(func(st *State) error {
			_, err := st.CreateThingGroup(CreateThingGroupInput{Name: name, Parent: parent})
			return err
		})
	}
	wantCode(t, group("child", "missing"), CodeInvalidRequest)
	must(group("root", ""))
	must(group("child", "root"))
	must(group("child", "root")) // same properties: success
	wantCode(t, group("child", ""), CodeResourceAlreadyExists)
	must(create("D1", ""))
	must(do(func(st *State) error { return st.AddThingToThingGroup("child", "D1") }))
	must(do(func(st *State) error { return st.AddThingToThingGroup("child", "D1") })) // again: nothing
	ae = wantCode(t, do(func(st *State) error { return st.AddThingToThingGroup("root", "D1") }), CodeInvalidRequest)
	if !strings.Contains(ae.Message, "same hierarchy") {
		t.Errorf("same hierarchy: %s", ae.Message)
	}
	for i := 1; i < MaxGroupsPerThing; i++ {
		must(group(fmt.Sprintf("g%d", i), ""))
		must(do(func(st *State) error { return st.AddThingToThingGroup(fmt.Sprintf("g%d", i), "D1") }))
	}
	must(group("g10", ""))
	wantCode(t, do(func(st *State) error { return st.AddThingToThingGroup("g10", "D1") }), CodeInvalidRequest)
	_ = s.View(func(st *State) error {
		if g := st.GroupsOfThing("D1"); len(g) != MaxGroupsPerThing || g[0] != "child" {
			t.Errorf("GroupsOfThing = %v", g)
		}
		names, err := st.ThingsInGroup("root", true)
		if err != nil || strings.Join(names, ",") != "D1" {
			t.Errorf("recursive ThingsInGroup = %v, %v", names, err)
		}
		if names, _ := st.ThingsInGroup("root", false); len(names) != 0 {
			t.Errorf("ThingsInGroup(root) = %v", names)
		}
		f := false
		roots, _, _ := st.ListThingGroups("", "", &f, Page{Limit: 50})
		kids, _, _ := st.ListThingGroups("root", "", nil, Page{Limit: 50})
		if len(roots) != 11 || len(kids) != 1 || kids[0].Name != "child" {
			t.Errorf("ListThingGroups roots %d, children of root %d", len(roots), len(kids))
		}
		return nil
	})
	ae = wantCode(t, do(func(st *State) error { return st.DeleteThingGroup("root", nil) }), CodeInvalidRequest)
	if !strings.Contains(ae.Message, "child groups") {
		t.Errorf("delete with children: %s", ae.Message)
	}
	must(do(func(st *State) error { return st.DeleteThingGroup("nowhere", nil) })) // absent: success
	must(do(func(st *State) error { return st.DeleteThingGroup("g1", nil) }))
	must(do(func(st *State) error { return st.DeleteThing("D1", nil) }))
	_ = s.View(func(st *State) error {
		if n := count(st, kindGroupMembers); n != 0 {
			t.Errorf("%d memberships left after the thing was deleted", n)
		}
		return nil
	})

	// Billing groups: one per thing; CreateThing names an existing one.
	wantCode(t, do(func(st *State) error { _, err := st.CreateThingWithBillingGroup("B1", "", nil, "bg"); return err }), CodeResourceNotFound)
	must(do(func(st *State) error { _, err := st.CreateBillingGroup("bg", "", nil); return err }))
	must(do(func(st *State) error { _, err := st.CreateBillingGroup("bg2", "", nil); return err }))
	must(do(func(st *State) error { _, err := st.CreateThingWithBillingGroup("B1", "", nil, "bg"); return err }))
	must(do(func(st *State) error { return st.AddThingToBillingGroup("bg2", "B1") }))
	_ = s.View(func(st *State) error {
		a, _, _ := st.ListThingsInBillingGroup("bg", Page{Limit: 5})
		b, _, _ := st.ListThingsInBillingGroup("bg2", Page{Limit: 5})
		if len(a) != 0 || len(b) != 1 || st.LookupThing("B1").BillingGroup != "bg2" {
			t.Errorf("billing groups bg %v bg2 %v", a, b)
		}
		return nil
	})
	must(do(func(st *State) error { return st.DeleteBillingGroup("bg2", nil) }))
	_ = s.View(func(st *State) error {
		if th := st.LookupThing("B1"); th.BillingGroup != "" {
			t.Errorf("thing still in a deleted billing group: %+v", th)
		}
		return nil
	})
}

func TestProvisioningTemplateVersions(t *testing.T) {
	s := openTemp(t)
	do := func(fn func(st *State) error) error { return s.Update(fn) }
	must := func(err error) { t.Helper(); noErr(t, err) }
	role := "arn:aws:iam::123456789012:role/JITPRole"
	in := CreateTemplateInput{Name: "jitp", Body: "{}", RoleARN: role, Type: TemplateTypeJITP}
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateProvisioningTemplate(CreateTemplateInput{Name: "bad name", Body: "{}", RoleARN: role})
		return err
	}), CodeInvalidRequest)
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateProvisioningTemplate(CreateTemplateInput{Name: "h", Body: "{}", RoleARN: role, Type: TemplateTypeJITP, Hook: &ProvisioningHook{TargetArn: "arn:aws:lambda:x"}})
		return err
	}), CodeInvalidRequest) // hooks are for FLEET_PROVISIONING only
	must(do(func(st *State) error { _, err := st.CreateProvisioningTemplate(in); return err }))
	wantCode(t, do(func(st *State) error { _, err := st.CreateProvisioningTemplate(in); return err }), CodeResourceAlreadyExists)
	must(do(func(st *State) error {
		t, err := st.CreateProvisioningTemplate(CreateTemplateInput{Name: "fleet", Body: "{}", RoleARN: role})
		if err == nil && t.Type != TemplateTypeFleet {
			err = fmt.Errorf("default type %s", t.Type)
		}
		return err
	}))
	for i := 2; i <= MaxTemplateVersions; i++ {
		must(do(func(st *State) error {
			_, err := st.CreateProvisioningTemplateVersion("jitp", fmt.Sprintf(`{"v":%d}`, i), i == 3)
			return err
		}))
	}
	wantCode(t, do(func(st *State) error { _, err := st.CreateProvisioningTemplateVersion("jitp", "{}", false); return err }), CodeVersionsLimitExceeded)
	_ = s.View(func(st *State) error {
		tp, _ := st.ProvisioningTemplate("jitp")
		if tp.DefaultVersion != 3 || st.DefaultTemplateBody(tp) != `{"v":3}` {
			t.Errorf("default version %d, body %q", tp.DefaultVersion, st.DefaultTemplateBody(tp))
		}
		vs, _, _ := st.ListTemplateVersions("jitp", Page{Limit: 10})
		if len(vs) != MaxTemplateVersions || vs[0].Version != 1 || vs[4].Version != 5 {
			t.Errorf("versions %+v", vs)
		}
		return nil
	})
	wantCode(t, do(func(st *State) error { return st.DeleteProvisioningTemplateVersion("jitp", 3) }), CodeDeleteConflict)
	wantCode(t, do(func(st *State) error { return st.DeleteProvisioningTemplateVersion("jitp", 9) }), CodeResourceNotFound)
	nine := 9
	wantCode(t, do(func(st *State) error {
		return st.UpdateProvisioningTemplate("jitp", UpdateTemplateInput{DefaultVersion: &nine})
	}), CodeResourceNotFound)
	must(do(func(st *State) error { return st.DeleteProvisioningTemplateVersion("jitp", 1) }))
	// Version IDs are not reused after a delete.
	must(do(func(st *State) error {
		v, err := st.CreateProvisioningTemplateVersion("jitp", "{}", false)
		if err == nil && v.Version != 6 {
			err = fmt.Errorf("new version %d", v.Version)
		}
		return err
	}))
	// A template a CA's registration config names cannot be deleted.
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{CommonName: "Template CA"})
	rec := registerCA(t, s, ca, true, true)
	must(do(func(st *State) error {
		return st.UpdateCA(rec.ID, UpdateCAInput{RegistrationConfig: &RegistrationConfig{TemplateName: "jitp"}})
	}))
	wantCode(t, do(func(st *State) error { return st.DeleteProvisioningTemplate("jitp") }), CodeDeleteConflict)
	must(do(func(st *State) error { return st.UpdateCA(rec.ID, UpdateCAInput{RemoveAutoRegistration: true}) }))
	must(do(func(st *State) error { return st.DeleteProvisioningTemplate("jitp") }))
	_ = s.View(func(st *State) error {
		if n := count(st, kindTemplateVersions); n != 1 { // the fleet template's
			t.Errorf("%d versions left", n)
		}
		return nil
	})
}

// With Latency, a detach propagates, a detached policy stays undeletable for a while and
// a new role is not usable at once; the clock decides, so nothing here sleeps.
func TestLatencyRules(t *testing.T) {
	clk := &clock{t: time.Now().Truncate(time.Second)}
	s := openWith(t, filepath.Join(t.TempDir(), DirName), Options{Now: clk.now, Latency: Latency{
		DetachThingPrincipal: 5 * time.Second, PolicyDeleteAfterDetach: time.Minute, RoleUsable: 10 * time.Second}})
	do := func(fn func(st *State) error) error { return s.Update(fn) }
	must := func(err error) { t.Helper(); noErr(t, err) }
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{CommonName: "Latency CA"})
	rec := registerCA(t, s, ca, true, true)
	dev := ca.Issue(t, pki.Subject{CommonName: "Dev"}).Cert
	var certARN string
	must(do(func(st *State) error {
		c, err := st.RegisterDeviceCert(dev, rec.ID, StatusActive)
		if err != nil {
			return err
		}
		certARN = c.ARN
		if _, err := st.CreateThing("Dev", "", nil); err != nil {
			return err
		}
		if _, err := st.CreatePolicy("P", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`, nil); err != nil {
			return err
		}
		if err := st.AttachPolicy("P", c.ARN); err != nil {
			return err
		}
		return st.AttachThingPrincipal("Dev", c.ARN, "")
	}))
	must(do(func(st *State) error { return st.DetachThingPrincipal("Dev", certARN) }))
	ae := wantCode(t, do(func(st *State) error { return st.DeleteThing("Dev", nil) }), CodeInvalidRequest)
	if !strings.Contains(ae.Message, "still attached") {
		t.Errorf("delete during the detach: %s", ae.Message)
	}
	_ = s.View(func(st *State) error {
		ps, _, _ := st.ListPrincipalsOfThing("Dev", Page{Limit: 5})
		if len(ps) != 1 || !st.IsThingAttached("Dev", certARN) {
			t.Errorf("the detach took effect at once: %v", ps)
		}
		return nil
	})
	clk.add(5 * time.Second)
	_ = s.View(func(st *State) error {
		ps, _, _ := st.ListPrincipalsOfThing("Dev", Page{Limit: 5})
		things, _, _ := st.ListThingsOfPrincipal(certARN, Page{Limit: 5})
		if len(ps)+len(things) != 0 || st.IsThingAttached("Dev", certARN) || len(st.ThingsForPrincipal(certARN)) != 0 {
			t.Errorf("still attached after the detach propagated: %v %v", ps, things)
		}
		return nil
	})
	must(do(func(st *State) error { return st.DeleteThing("Dev", nil) }))
	_ = s.View(func(st *State) error {
		if n := st.CountThingPrincipals(); n != 0 {
			t.Errorf("%d attachment records left", n)
		}
		return nil
	})

	must(do(func(st *State) error { return st.DetachPolicy("P", certARN) }))
	ae = wantCode(t, do(func(st *State) error { return st.DeletePolicy("P") }), CodeDeleteConflict)
	if !strings.Contains(ae.Message, "attached to one or more principals") {
		t.Errorf("delete in the window: %s", ae.Message)
	}
	clk.add(59 * time.Second)
	wantCode(t, do(func(st *State) error { return st.DeletePolicy("P") }), CodeDeleteConflict)
	clk.add(time.Second)
	must(do(func(st *State) error { return st.DeletePolicy("P") }))

	must(do(func(st *State) error {
		_, err := st.CreateRole(CreateRoleInput{Name: "New", TrustPolicy: iotTrust})
		return err
	}))
	check := func(want time.Duration) {
		t.Helper()
		_ = s.View(func(st *State) error {
			r, _ := st.Role("New")
			if got := st.RoleUsableIn(r); got != want {
				t.Errorf("RoleUsableIn = %s, want %s", got, want)
			}
			return nil
		})
	}
	check(10 * time.Second)
	clk.add(10 * time.Second)
	check(0)
}

// Without Latency a detach is immediate (the default stays fast).
func TestDetachImmediateByDefault(t *testing.T) {
	s := openTemp(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{CommonName: "Fast CA"})
	rec := registerCA(t, s, ca, true, true)
	err := s.Update(func(st *State) error {
		c, err := st.RegisterDeviceCert(ca.Issue(t, pki.Subject{CommonName: "D"}).Cert, rec.ID, StatusActive)
		if err != nil {
			return err
		}
		if _, err := st.CreateThing("D", "", nil); err != nil {
			return err
		}
		if err := st.AttachThingPrincipal("D", c.ARN, ""); err != nil {
			return err
		}
		if err := st.DetachThingPrincipal("D", c.ARN); err != nil {
			return err
		}
		return st.DeleteThing("D", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An index added to a kind in a later release (things by type, roles by managed policy)
// is filled from the records a database already has on the first Open that knows it.
func TestNewIndexFilledOnOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), DirName)
	s, err := Open(dir, Options{Region: "ap-south-1"})
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"
	err = s.Update(func(st *State) error {
		if _, err := st.CreateThingType(CreateThingTypeInput{Name: "Sensor"}); err != nil {
			return err
		}
		if _, err := st.CreateThing("T", "Sensor", nil); err != nil {
			return err
		}
		if _, err := st.CreateRole(CreateRoleInput{Name: "R", TrustPolicy: iotTrust}); err != nil {
			return err
		}
		return st.AttachRolePolicy("R", arn)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The database as a release without these indexes left it.
	db, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"things.by-type", "roles.by-managed-policy"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openWith(t, dir, Options{ThingTypeDeleteWait: -1})
	_ = s.View(func(st *State) error {
		if n := st.PolicyAttachmentCount(arn); n != 1 {
			t.Errorf("attachment count after reopen: %d", n)
		}
		return nil
	})
	if err := s.Update(func(st *State) error { return st.DeprecateThingType("Sensor", false) }); err != nil {
		t.Fatal(err)
	}
	ae := wantCode(t, s.Update(func(st *State) error { return st.DeleteThingType("Sensor") }), CodeInvalidRequest)
	if !strings.Contains(ae.Message, "thing T") {
		t.Errorf("the by-type index was not filled: %s", ae.Message)
	}
}

// An AWS managed policy has one ARN per partition: in China it is arn:aws-cn:iam::aws:policy/…,
// in GovCloud arn:aws-us-gov:…, and the aws partition's ARN does not exist there (nor the
// other way round).
func TestManagedPolicyPartitions(t *testing.T) {
	for region, part := range map[string]string{"cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "eu-west-1": "aws"} {
		s := openWith(t, t.TempDir(), Options{Region: region})
		noErr(t, s.Update(func(st *State) error {
			_, err := st.CreateRole(CreateRoleInput{Name: "R", TrustPolicy: iotTrust})
			return err
		}))
		own := "arn:" + part + ":iam::aws:policy/service-role/AWSIoTThingsRegistration"
		noErr(t, s.Update(func(st *State) error { return st.AttachRolePolicy("R", own) }))
		_ = s.View(func(st *State) error {
			p, err := st.ManagedPolicy(own)
			if err != nil || p.ARN != own || !p.AWSManaged() {
				t.Errorf("%s: ManagedPolicy(%s) = %+v, %v", region, own, p, err)
			}
			return nil
		})
		other := "arn:aws-cn:iam::aws:policy/service-role/AWSIoTThingsRegistration"
		if part == "aws-cn" {
			other = "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"
		}
		ae := wantCode(t, s.Update(func(st *State) error { return st.AttachRolePolicy("R", other) }), CodeIAMNoSuchEntity)
		if !strings.Contains(ae.Message, other) {
			t.Errorf("%s: attaching %s: %s", region, other, ae.Message)
		}
	}
}
