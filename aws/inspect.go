package aws

import (
	"context"
	"errors"
	"net/url"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
)

// Read-only lookups of what Just-in-Time Provisioning uses — the provisioning role and its
// policies, a provisioning template named by a CA, the thing types and groups a template
// names, the things of a certificate — for doctor, which explains a setup without
// changing it. They are a part of Client of their own (Inspector), in this file.

// Inspector is the read-only part of Client that doctor needs beyond what the steps use.
type Inspector interface {
	// DescribeRole returns a role, given by name or ARN, with its trust policy and every
	// permission policy (attached managed ones, then inline ones) with its document.
	// A role that does not exist is an *Error of Kind NotFound.
	DescribeRole(ctx context.Context, nameOrARN string) (RoleDescription, error)
	// DescribeProvisioningTemplate returns a provisioning template with its default
	// version's body (NotFound when there is none by that name).
	DescribeProvisioningTemplate(ctx context.Context, name string) (ProvisioningTemplate, error)
	DescribeThingType(ctx context.Context, name string) (ThingType, error)
	DescribeThingGroup(ctx context.Context, name string) (ThingGroup, error)
	DescribeBillingGroup(ctx context.Context, name string) (BillingGroup, error)
	// ListPrincipalThings returns the names of the things a certificate (ARN) is attached to.
	ListPrincipalThings(ctx context.Context, principalARN string) ([]string, error)
}

// RoleDescription is an IAM role with what decides whether AWS IoT can provision with it.
type RoleDescription struct {
	Name string
	ARN  string
	// TrustPolicy is the role's trust (assume-role) policy, decoded.
	TrustPolicy string
	// Policies are the role's permission policies: attached managed ones, then inline.
	Policies []RolePolicy
	// Unreadable says which permission policies could not be read, and why.
	Unreadable []string
}

// RolePolicy is one permission policy of a role.
type RolePolicy struct {
	Name     string
	ARN      string // managed policies only
	Inline   bool
	Document string // decoded JSON
}

// ProvisioningTemplate is a provisioning template (CreateProvisioningTemplate).
type ProvisioningTemplate struct {
	Name, ARN   string
	Type        string // JITP or FLEET_PROVISIONING
	Enabled     bool
	RoleARN     string // provisioningRoleArn
	Body        string // the default version's template body
	Description string
}

// ThingType is a thing type (DescribeThingType).
type ThingType struct {
	Name, ARN  string
	Deprecated bool
}

// ThingGroup is a static thing group (DescribeThingGroup).
type ThingGroup struct{ Name, ARN string }

// BillingGroup is a billing group (DescribeBillingGroup).
type BillingGroup struct{ Name, ARN string }

// TrustsIoT reports whether a role's trust policy (JSON, or URL-encoded as IAM returns it)
// lets iot.amazonaws.com assume the role for this account and region; reason says why not
// when an iot.amazonaws.com statement exists but its aws:SourceAccount / aws:SourceArn
// condition excludes them. It is the check EnsureRole makes of an existing role.
func TrustsIoT(doc, account, region string) (ok bool, reason string, err error) {
	return trustsIoT(doc, account, region)
}

// RoleName is the role name in a role ARN (arn:aws:iam::<account>:role/<path/>name), or
// the argument itself when it is no ARN.
func RoleName(nameOrARN string) string {
	if !strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	_, rest, ok := strings.Cut(nameOrARN, ":role/")
	if !ok {
		return nameOrARN
	}
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}

// decodePolicyDocument undoes the URL encoding IAM applies to the documents it returns.
func decodePolicyDocument(doc string) string {
	if strings.HasPrefix(doc, "{") {
		return doc
	}
	if d, err := url.QueryUnescape(doc); err == nil {
		return d
	}
	return doc
}

func (c *sdkClient) DescribeRole(ctx context.Context, nameOrARN string) (RoleDescription, error) {
	name := RoleName(nameOrARN)
	got, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String(name)})
	if err != nil {
		err = c.wrap("GetRole", err)
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			e.say(ReasonRoleNotFound, "Name", name)
		}
		return RoleDescription{}, err
	}
	r := RoleDescription{Name: name}
	if got.Role != nil {
		r.ARN = sdkaws.ToString(got.Role.Arn)
		r.TrustPolicy = decodePolicyDocument(sdkaws.ToString(got.Role.AssumeRolePolicyDocument))
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(c.iam, &iam.ListAttachedRolePoliciesInput{RoleName: sdkaws.String(name)})
	for attached.HasMorePages() {
		out, err := attached.NextPage(ctx)
		if err != nil {
			return r, c.wrap("ListAttachedRolePolicies", err)
		}
		for _, ap := range out.AttachedPolicies {
			p := RolePolicy{Name: sdkaws.ToString(ap.PolicyName), ARN: sdkaws.ToString(ap.PolicyArn)}
			doc, err := c.managedPolicyDocument(ctx, p.ARN)
			if err != nil {
				r.Unreadable = append(r.Unreadable, "managed policy "+p.ARN+": "+err.Error())
				continue
			}
			p.Document = doc
			r.Policies = append(r.Policies, p)
		}
	}
	inline := iam.NewListRolePoliciesPaginator(c.iam, &iam.ListRolePoliciesInput{RoleName: sdkaws.String(name)})
	for inline.HasMorePages() {
		out, err := inline.NextPage(ctx)
		if err != nil {
			return r, c.wrap("ListRolePolicies", err)
		}
		for _, pn := range out.PolicyNames {
			got, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: sdkaws.String(name), PolicyName: sdkaws.String(pn)})
			if err != nil {
				r.Unreadable = append(r.Unreadable, "inline policy "+pn+": "+c.wrap("GetRolePolicy", err).Error())
				continue
			}
			r.Policies = append(r.Policies, RolePolicy{Name: pn, Inline: true, Document: decodePolicyDocument(sdkaws.ToString(got.PolicyDocument))})
		}
	}
	return r, nil
}

// managedPolicyDocument is the default version's document of a managed policy.
func (c *sdkClient) managedPolicyDocument(ctx context.Context, arn string) (string, error) {
	p, err := c.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: sdkaws.String(arn)})
	if err != nil {
		return "", c.wrap("GetPolicy", err)
	}
	if p.Policy == nil {
		e := &Error{Kind: KindOther, Op: "GetPolicy"}
		e.say(ReasonNoPolicyDocument, "ARN", arn)
		return "", e
	}
	v, err := c.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: sdkaws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return "", c.wrap("GetPolicyVersion", err)
	}
	if v.PolicyVersion == nil {
		e := &Error{Kind: KindOther, Op: "GetPolicyVersion"}
		e.say(ReasonNoPolicyVersion, "ARN", arn)
		return "", e
	}
	return decodePolicyDocument(sdkaws.ToString(v.PolicyVersion.Document)), nil
}

func (c *sdkClient) DescribeProvisioningTemplate(ctx context.Context, name string) (ProvisioningTemplate, error) {
	out, err := c.iot.DescribeProvisioningTemplate(ctx, &iot.DescribeProvisioningTemplateInput{TemplateName: sdkaws.String(name)})
	if err != nil {
		err = c.wrap("DescribeProvisioningTemplate", err)
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			e.say(ReasonTemplateNotFound, "Name", name, "Region", c.region)
		}
		return ProvisioningTemplate{}, err
	}
	return ProvisioningTemplate{Name: sdkaws.ToString(out.TemplateName), ARN: sdkaws.ToString(out.TemplateArn), Type: string(out.Type),
		Enabled: sdkaws.ToBool(out.Enabled), RoleARN: sdkaws.ToString(out.ProvisioningRoleArn), Body: sdkaws.ToString(out.TemplateBody),
		Description: sdkaws.ToString(out.Description)}, nil
}

func (c *sdkClient) DescribeThingType(ctx context.Context, name string) (ThingType, error) {
	out, err := c.iot.DescribeThingType(ctx, &iot.DescribeThingTypeInput{ThingTypeName: sdkaws.String(name)})
	if err != nil {
		return ThingType{}, c.wrap("DescribeThingType", err)
	}
	t := ThingType{Name: sdkaws.ToString(out.ThingTypeName), ARN: sdkaws.ToString(out.ThingTypeArn)}
	if out.ThingTypeMetadata != nil {
		t.Deprecated = out.ThingTypeMetadata.Deprecated
	}
	return t, nil
}

func (c *sdkClient) DescribeThingGroup(ctx context.Context, name string) (ThingGroup, error) {
	out, err := c.iot.DescribeThingGroup(ctx, &iot.DescribeThingGroupInput{ThingGroupName: sdkaws.String(name)})
	if err != nil {
		return ThingGroup{}, c.wrap("DescribeThingGroup", err)
	}
	return ThingGroup{Name: sdkaws.ToString(out.ThingGroupName), ARN: sdkaws.ToString(out.ThingGroupArn)}, nil
}

func (c *sdkClient) DescribeBillingGroup(ctx context.Context, name string) (BillingGroup, error) {
	out, err := c.iot.DescribeBillingGroup(ctx, &iot.DescribeBillingGroupInput{BillingGroupName: sdkaws.String(name)})
	if err != nil {
		return BillingGroup{}, c.wrap("DescribeBillingGroup", err)
	}
	return BillingGroup{Name: sdkaws.ToString(out.BillingGroupName), ARN: sdkaws.ToString(out.BillingGroupArn)}, nil
}

func (c *sdkClient) ListPrincipalThings(ctx context.Context, principalARN string) ([]string, error) {
	p := iot.NewListPrincipalThingsPaginator(c.iot, &iot.ListPrincipalThingsInput{Principal: sdkaws.String(principalARN), MaxResults: sdkaws.Int32(250)})
	return collect(ctx, c, "ListPrincipalThings", p, func(out *iot.ListPrincipalThingsOutput) []string { return out.Things })
}
