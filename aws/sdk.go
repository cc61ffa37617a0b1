package aws

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	iottypes "github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/jitpwiz/jitpwiz/aws/internal/iamdoc"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Defaults for the JITP provisioning role (spec §1.4, design step 6).
const (
	DefaultRoleName = "JITPRole"

	// PolicyThingsRegistration is AWSIoTThingsRegistration in the aws partition; other
	// partitions: ManagedPolicyARN(region, ManagedThingsRegistration).
	PolicyThingsRegistration = "arn:aws:iam::aws:policy/" + ManagedThingsRegistration

	// DefaultRoleWait bounds how long RegisterCA keeps retrying while a new role propagates.
	DefaultRoleWait = 45 * time.Second
	// DefaultMaxAttempts is the SDK retryer's attempt count (throttling, 5xx, network).
	DefaultMaxAttempts = 6
	// DefaultMaxBackoff caps the SDK retryer's jittered exponential backoff, so a
	// throttled step gives up within about 15 s instead of the SDK's ~50 s.
	DefaultMaxBackoff = 5 * time.Second
)

// sdkClient implements Client over aws-sdk-go-v2.
type sdkClient struct {
	iot    *iot.Client
	iam    *iam.Client
	sts    *sts.Client
	region string
	ec     errContext

	roleWait     time.Duration
	roleBackoff  time.Duration // first backoff step for the role-propagation retry
	mu           sync.Mutex
	account      string // cached from STS
	endpointHost string // cached DescribeEndpoint
}

// New builds a Client from the standard AWS configuration chain (environment, shared
// config and credentials files, profiles, SSO, IMDS), overridden by cfg.
// The SDK itself honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_IOT/_IAM/_STS; an explicit
// cfg.EndpointURL wins over both.
func New(ctx context.Context, cfg Config) (Client, error) {
	profile := cfg.Profile
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE") // for messages only; the SDK reads it itself
	}
	ec := errContext{Profile: profile, Region: cfg.Region, Endpoint: cfg.EndpointURL}
	maxAttempts := cfg.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	opts := []func(*config.LoadOptions) error{
		// The SDK's own log lines (e.g. "WARN falling back to IMDSv1" while it looks for
		// credentials) would land on the user's terminal; failures reach the user as *Error.
		config.WithLogger(logging.Nop{}),
		config.WithRetryer(func() sdkaws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = DefaultMaxBackoff
				if cfg.MaxBackoff > 0 {
					o.MaxBackoff = cfg.MaxBackoff
				}
				o.RateLimiter = ratelimit.None
				// The SDK treats LimitExceededException as throttling; for AWS IoT and IAM it is a
				// hard quota (e.g. 10 CAs with one subject), so retrying only delays the answer.
				o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(notRetryableQuota)}, o.Retryables...)
			})
		}),
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.StaticAccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.StaticAccessKeyID, cfg.StaticSecretKey, "")))
	}
	if cfg.EndpointURL != "" {
		u, err := url.Parse(cfg.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e := &Error{Kind: KindConfig, Op: "config"}
			e.say(ReasonEndpointURL, "URL", strconv.Quote(cfg.EndpointURL))
			return nil, e
		}
	}
	if cfg.Region != "" {
		if err := checkRegion(cfg.Region, cfg.EndpointURL != ""); err != nil {
			return nil, err
		}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, configError(cfg, err)
	}
	if awsCfg.Region == "" {
		where := "environment (AWS_REGION) or ~/.aws/config"
		if cfg.Profile != "" {
			where = "profile " + cfg.Profile
		}
		e := &Error{Kind: KindNoRegion, Op: "config"}
		e.say(ReasonNoRegion, "Where", where)
		return nil, e
	}
	ec.Endpoints = CustomEndpoints(cfg.EndpointURL)
	if err := checkRegion(awsCfg.Region, len(ec.Endpoints) > 0); err != nil {
		return nil, err
	}
	ec.Region = awsCfg.Region
	ec.Endpoint = ec.Endpoints["IoT"]
	c := &sdkClient{region: awsCfg.Region, ec: ec, roleWait: cfg.RoleWait, roleBackoff: time.Second}
	if c.roleWait == 0 {
		c.roleWait = DefaultRoleWait
	}
	if cfg.EndpointURL != "" {
		ep := cfg.EndpointURL
		c.iot = iot.NewFromConfig(awsCfg, func(o *iot.Options) { o.BaseEndpoint = &ep })
		c.iam = iam.NewFromConfig(awsCfg, func(o *iam.Options) { o.BaseEndpoint = &ep })
		c.sts = sts.NewFromConfig(awsCfg, func(o *sts.Options) { o.BaseEndpoint = &ep })
	} else {
		c.iot = iot.NewFromConfig(awsCfg)
		c.iam = iam.NewFromConfig(awsCfg)
		c.sts = sts.NewFromConfig(awsCfg)
	}
	if cfg.RoleWait > 0 && cfg.RoleWait < time.Second {
		c.roleBackoff = cfg.RoleWait / 4
	}
	return c, nil
}

func notRetryableQuota(err error) sdkaws.Ternary {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "LimitExceededException" || api.ErrorCode() == "LimitExceeded") {
		return sdkaws.FalseTernary
	}
	return sdkaws.UnknownTernary
}

var (
	hostLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// checkRegion rejects region names AWS cannot have. With a custom endpoint any valid
// host label is accepted (compatible services use their own names).
func checkRegion(region string, customEndpoint bool) error {
	if policy.ValidRegion(region) || (customEndpoint && hostLabelRE.MatchString(region)) {
		return nil
	}
	e := &Error{Kind: KindWrongRegion, Op: "config"}
	e.say(ReasonBadRegion, "Region", strconv.Quote(region))
	return e
}

// Services are the AWS services jitpwiz calls, by the service ID the SDK and
// AWS_ENDPOINT_URL_<ID> use.
var Services = []string{"IoT", "IAM", "STS"}

// CustomEndpoints says where the calls of each service go when that is not AWS's own
// endpoint: an explicit endpointURL (--endpoint-url) applies to IoT, IAM and STS alike and
// wins, as the SDK's BaseEndpoint option wins over the environment; without it each service
// takes AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_IOT, _IAM, _STS), else AWS_ENDPOINT_URL
// — the SDK's own service-specific endpoint variables (AWS SDKs and Tools Reference Guide,
// feature-ss-endpoints.html). A service missing from the map goes to AWS.
func CustomEndpoints(endpointURL string) map[string]string {
	out := map[string]string{}
	for _, svc := range Services {
		switch {
		case endpointURL != "":
			out[svc] = endpointURL
		case os.Getenv("AWS_ENDPOINT_URL_"+strings.ToUpper(svc)) != "":
			out[svc] = os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(svc))
		case os.Getenv("AWS_ENDPOINT_URL") != "":
			out[svc] = os.Getenv("AWS_ENDPOINT_URL")
		}
	}
	return out
}

// DescribeEndpoints says in words where IoT, IAM and STS calls go ("" when all go to AWS).
func DescribeEndpoints(endpointURL string) string {
	eps := CustomEndpoints(endpointURL)
	if len(eps) == 0 {
		return ""
	}
	by := map[string][]string{}
	var order []string
	for _, svc := range Services {
		u := firstOr(eps[svc], "AWS")
		if by[u] == nil {
			order = append(order, u)
		}
		by[u] = append(by[u], svc)
	}
	parts := make([]string, 0, len(order))
	for _, u := range order {
		parts = append(parts, joinAnd(by[u])+" at "+u)
	}
	return strings.Join(parts, "; ")
}

func firstOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// joinAnd writes "IoT, IAM and STS".
func joinAnd(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " and " + list[len(list)-1]
}

func configError(cfg Config, err error) error {
	var notExist config.SharedConfigProfileNotExistError
	if errors.As(err, &notExist) {
		e := &Error{Kind: KindConfig, Op: "config", Err: err, Message: err.Error()}
		e.say(ReasonNoProfile, "Profile", notExist.Profile)
		return e
	}
	e := &Error{Kind: KindConfig, Op: "config", Err: err, Message: err.Error()}
	e.say(ReasonConfig, "Err", err.Error())
	return e
}

func (c *sdkClient) wrap(op string, err error) error { return c.ec.mapError(op, err) }

func (c *sdkClient) Region() string { return c.region }

// remembered returns *field (guarded by c.mu), fetching it the first time it is asked
// for; a failed fetch is not remembered.
func (c *sdkClient) remembered(field *string, fetch func() (string, error)) (string, error) {
	c.mu.Lock()
	cached := *field
	c.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	v, err := fetch()
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	*field = v
	c.mu.Unlock()
	return v, nil
}

func (c *sdkClient) CallerAccount(ctx context.Context) (string, error) {
	return c.remembered(&c.account, func() (string, error) {
		out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", c.wrap("GetCallerIdentity", err)
		}
		return sdkaws.ToString(out.Account), nil
	})
}

func (c *sdkClient) DataEndpoint(ctx context.Context) (string, error) {
	return c.remembered(&c.endpointHost, func() (string, error) {
		out, err := c.iot.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: sdkaws.String("iot:Data-ATS")})
		if err != nil {
			return "", c.wrap("DescribeEndpoint", err)
		}
		return sdkaws.ToString(out.EndpointAddress), nil
	})
}

func (c *sdkClient) GetRegistrationCode(ctx context.Context) (string, error) {
	out, err := c.iot.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})
	if err != nil {
		return "", c.wrap("GetRegistrationCode", err)
	}
	return sdkaws.ToString(out.RegistrationCode), nil
}

func toSDKRegConfig(r *RegistrationConfig) *iottypes.RegistrationConfig {
	if r == nil {
		return nil
	}
	out := &iottypes.RegistrationConfig{}
	if r.TemplateBody != "" {
		out.TemplateBody = sdkaws.String(r.TemplateBody)
	}
	if r.RoleArn != "" {
		out.RoleArn = sdkaws.String(r.RoleArn)
	}
	if r.TemplateName != "" {
		out.TemplateName = sdkaws.String(r.TemplateName)
	}
	return out
}

func fromSDKRegConfig(r *iottypes.RegistrationConfig) *RegistrationConfig {
	if r == nil || (r.TemplateBody == nil && r.RoleArn == nil && r.TemplateName == nil) {
		return nil
	}
	return &RegistrationConfig{
		TemplateBody: sdkaws.ToString(r.TemplateBody),
		RoleArn:      sdkaws.ToString(r.RoleArn),
		TemplateName: sdkaws.ToString(r.TemplateName),
	}
}

// RegisterCA registers the CA. When the registration config names a role that AWS IoT
// cannot use yet (a freshly created role propagates within seconds), it retries with
// backoff for at most the configured RoleWait.
func (c *sdkClient) RegisterCA(ctx context.Context, in RegisterCAInput) (CARef, error) {
	req := &iot.RegisterCACertificateInput{
		CaCertificate:         sdkaws.String(in.CACertificatePEM),
		SetAsActive:           in.SetAsActive,
		AllowAutoRegistration: in.AllowAutoRegistration,
		RegistrationConfig:    toSDKRegConfig(in.RegistrationConfig),
	}
	if in.VerificationCertificatePEM != "" {
		req.VerificationCertificate = sdkaws.String(in.VerificationCertificatePEM)
	}
	if in.CertificateMode != "" {
		req.CertificateMode = iottypes.CertificateMode(in.CertificateMode)
	}
	deadline := time.Now().Add(c.roleWait)
	backoff := c.roleBackoff
	for {
		out, err := c.iot.RegisterCACertificate(ctx, req)
		if err == nil {
			return CARef{ID: sdkaws.ToString(out.CertificateId), ARN: sdkaws.ToString(out.CertificateArn)}, nil
		}
		mapped := c.wrap("RegisterCACertificate", err)
		var e *Error
		retryable := errors.As(mapped, &e) && e.Kind == KindInvalidRequest && in.RegistrationConfig != nil &&
			in.RegistrationConfig.RoleArn != "" && isRoleNotReady(e.Message)
		if !retryable || c.roleWait < 0 || time.Now().Add(backoff).After(deadline) {
			if retryable {
				e.say(ReasonRoleNotReady, "Role", in.RegistrationConfig.RoleArn, "Msg", e.Message)
			}
			return CARef{}, mapped
		}
		if in.OnRoleRetry != nil {
			in.OnRoleRetry(backoff, time.Until(deadline), e.Message)
		}
		select {
		case <-ctx.Done():
			return CARef{}, c.wrap("RegisterCACertificate", ctx.Err())
		case <-time.After(backoff):
		}
		backoff *= 2
		if backoff > 8*time.Second {
			backoff = 8 * time.Second
		}
	}
}

func (c *sdkClient) DescribeCA(ctx context.Context, caID string) (CADescription, error) {
	out, err := c.iot.DescribeCACertificate(ctx, &iot.DescribeCACertificateInput{CertificateId: sdkaws.String(caID)})
	if err != nil {
		return CADescription{}, c.wrap("DescribeCACertificate", err)
	}
	d := CADescription{RegistrationConfig: fromSDKRegConfig(out.RegistrationConfig)}
	if cd := out.CertificateDescription; cd != nil {
		d.ID = sdkaws.ToString(cd.CertificateId)
		d.ARN = sdkaws.ToString(cd.CertificateArn)
		d.Status = string(cd.Status)
		d.AutoRegistrationStatus = string(cd.AutoRegistrationStatus)
		d.CertificatePEM = sdkaws.ToString(cd.CertificatePem)
		d.OwnedBy = sdkaws.ToString(cd.OwnedBy)
		d.CertificateMode = string(cd.CertificateMode)
		d.CreationDate = sdkaws.ToTime(cd.CreationDate)
		if cd.Validity != nil {
			d.NotBefore = sdkaws.ToTime(cd.Validity.NotBefore)
			d.NotAfter = sdkaws.ToTime(cd.Validity.NotAfter)
		}
	}
	return d, nil
}

func (c *sdkClient) FindCA(ctx context.Context, caID string) (*CADescription, error) {
	d, err := c.DescribeCA(ctx, caID)
	if IsKind(err, KindNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func (c *sdkClient) UpdateCA(ctx context.Context, caID string, in UpdateCAInput) error {
	_, err := c.iot.UpdateCACertificate(ctx, &iot.UpdateCACertificateInput{
		CertificateId:             sdkaws.String(caID),
		NewStatus:                 iottypes.CACertificateStatus(in.NewStatus),
		NewAutoRegistrationStatus: iottypes.AutoRegistrationStatus(in.NewAutoRegistrationStatus),
		RegistrationConfig:        toSDKRegConfig(in.RegistrationConfig),
		RemoveAutoRegistration:    in.RemoveAutoRegistration,
	})
	return c.wrap("UpdateCACertificate", err)
}

// iotPager is what the SDK's paginators of IoT lists have in common.
type iotPager[O any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*iot.Options)) (O, error)
}

// collect gathers the items (picked by items) of every page of p; op names the
// operation in an error.
func collect[O, T any](ctx context.Context, c *sdkClient, op string, p iotPager[O], items func(page O) []T) ([]T, error) {
	var all []T
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.wrap(op, err)
		}
		all = append(all, items(out)...)
	}
	return all, nil
}

func (c *sdkClient) ListCAs(ctx context.Context) ([]CASummary, error) {
	p := iot.NewListCACertificatesPaginator(c.iot, &iot.ListCACertificatesInput{PageSize: sdkaws.Int32(250)})
	return collect(ctx, c, "ListCACertificates", p, func(out *iot.ListCACertificatesOutput) []CASummary {
		var cas []CASummary
		for _, ca := range out.Certificates {
			cas = append(cas, CASummary{ID: sdkaws.ToString(ca.CertificateId), ARN: sdkaws.ToString(ca.CertificateArn),
				Status: string(ca.Status), CreationDate: sdkaws.ToTime(ca.CreationDate)})
		}
		return cas
	})
}

func (c *sdkClient) DeleteCA(ctx context.Context, caID string) error {
	_, err := c.iot.DeleteCACertificate(ctx, &iot.DeleteCACertificateInput{CertificateId: sdkaws.String(caID)})
	return c.wrap("DeleteCACertificate", err)
}

func (c *sdkClient) DescribeCertificate(ctx context.Context, certID string) (CertDescription, error) {
	out, err := c.iot.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: sdkaws.String(certID)})
	if err != nil {
		return CertDescription{}, c.wrap("DescribeCertificate", err)
	}
	var d CertDescription
	if cd := out.CertificateDescription; cd != nil {
		d.ID = sdkaws.ToString(cd.CertificateId)
		d.ARN = sdkaws.ToString(cd.CertificateArn)
		d.CAID = sdkaws.ToString(cd.CaCertificateId)
		d.Status = string(cd.Status)
		d.CertificatePEM = sdkaws.ToString(cd.CertificatePem)
		d.CreationDate = sdkaws.ToTime(cd.CreationDate)
		d.LastModifiedDate = sdkaws.ToTime(cd.LastModifiedDate)
		if cd.Validity != nil {
			d.NotBefore = sdkaws.ToTime(cd.Validity.NotBefore)
			d.NotAfter = sdkaws.ToTime(cd.Validity.NotAfter)
		}
	}
	return d, nil
}

func (c *sdkClient) UpdateCertificate(ctx context.Context, certID, newStatus string) error {
	_, err := c.iot.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: sdkaws.String(certID),
		NewStatus: iottypes.CertificateStatus(newStatus)})
	return c.wrap("UpdateCertificate", err)
}

func (c *sdkClient) DeleteCertificate(ctx context.Context, certID string, force bool) error {
	_, err := c.iot.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: sdkaws.String(certID), ForceDelete: force})
	return c.wrap("DeleteCertificate", err)
}

func (c *sdkClient) ListCertificatesByCA(ctx context.Context, caID string) ([]CertSummary, error) {
	p := iot.NewListCertificatesByCAPaginator(c.iot, &iot.ListCertificatesByCAInput{
		CaCertificateId: sdkaws.String(caID), PageSize: sdkaws.Int32(250)})
	return collect(ctx, c, "ListCertificatesByCA", p, func(out *iot.ListCertificatesByCAOutput) []CertSummary {
		var certs []CertSummary
		for _, ct := range out.Certificates {
			certs = append(certs, CertSummary{ID: sdkaws.ToString(ct.CertificateId), ARN: sdkaws.ToString(ct.CertificateArn),
				Status: string(ct.Status), CreationDate: sdkaws.ToTime(ct.CreationDate)})
		}
		return certs
	})
}

func (c *sdkClient) DescribeThing(ctx context.Context, name string) (Thing, error) {
	out, err := c.iot.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: sdkaws.String(name)})
	if err != nil {
		err = c.wrap("DescribeThing", err)
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			e.say(ReasonThingNotFound, "Name", name, "Region", c.region)
		}
		return Thing{}, err
	}
	return Thing{Name: sdkaws.ToString(out.ThingName), ID: sdkaws.ToString(out.ThingId), ARN: sdkaws.ToString(out.ThingArn),
		TypeName: sdkaws.ToString(out.ThingTypeName), Attributes: out.Attributes, Version: out.Version}, nil
}

func (c *sdkClient) ListThings(ctx context.Context) ([]Thing, error) {
	p := iot.NewListThingsPaginator(c.iot, &iot.ListThingsInput{MaxResults: sdkaws.Int32(250)})
	return collect(ctx, c, "ListThings", p, func(out *iot.ListThingsOutput) []Thing {
		var things []Thing
		for _, t := range out.Things {
			things = append(things, Thing{Name: sdkaws.ToString(t.ThingName), ARN: sdkaws.ToString(t.ThingArn),
				TypeName: sdkaws.ToString(t.ThingTypeName), Attributes: t.Attributes, Version: t.Version})
		}
		return things
	})
}

func (c *sdkClient) CreateThing(ctx context.Context, name string, attrs map[string]string) (Thing, bool, error) {
	in := &iot.CreateThingInput{ThingName: sdkaws.String(name)}
	if len(attrs) > 0 {
		in.AttributePayload = &iottypes.AttributePayload{Attributes: attrs}
	}
	out, err := c.iot.CreateThing(ctx, in)
	if err == nil {
		t, derr := c.DescribeThing(ctx, name)
		if derr != nil { // created; the description is only for the caller's display
			t = Thing{Name: sdkaws.ToString(out.ThingName), ID: sdkaws.ToString(out.ThingId), ARN: sdkaws.ToString(out.ThingArn), Attributes: attrs}
		}
		return t, true, nil
	}
	err = c.wrap("CreateThing", err)
	if !IsKind(err, KindAlreadyExists) {
		return Thing{}, false, err
	}
	// AWS answers ResourceAlreadyExists only when the thing exists with other attributes
	// (the same ones return the thing): either way it is there, and it is kept as it is.
	t, derr := c.DescribeThing(ctx, name)
	if derr != nil {
		return Thing{}, false, derr
	}
	return t, false, nil
}

func (c *sdkClient) AttachThingPrincipal(ctx context.Context, name, principalARN string) (bool, error) {
	ps, err := c.ListThingPrincipals(ctx, name)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p == principalARN {
			return true, nil
		}
	}
	_, err = c.iot.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: sdkaws.String(name), Principal: sdkaws.String(principalARN)})
	return false, c.wrap("AttachThingPrincipal", err)
}

func (c *sdkClient) DeleteThing(ctx context.Context, name string) error {
	_, err := c.iot.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: sdkaws.String(name)})
	return c.wrap("DeleteThing", err)
}

func (c *sdkClient) ListThingPrincipals(ctx context.Context, name string) ([]string, error) {
	p := iot.NewListThingPrincipalsPaginator(c.iot, &iot.ListThingPrincipalsInput{ThingName: sdkaws.String(name), MaxResults: sdkaws.Int32(250)})
	return collect(ctx, c, "ListThingPrincipals", p, func(out *iot.ListThingPrincipalsOutput) []string { return out.Principals })
}

func (c *sdkClient) DetachThingPrincipal(ctx context.Context, name, principalARN string) error {
	_, err := c.iot.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: sdkaws.String(name), Principal: sdkaws.String(principalARN)})
	return c.wrap("DetachThingPrincipal", err)
}

func (c *sdkClient) CreatePolicy(ctx context.Context, name, document string) (Policy, error) {
	out, err := c.iot.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: sdkaws.String(name), PolicyDocument: sdkaws.String(document)})
	if err != nil {
		err = c.wrap("CreatePolicy", err)
		var e *Error
		if errors.As(err, &e) && e.Kind == KindAlreadyExists && e.ResourceID == "" {
			e.ResourceID = name
		}
		return Policy{}, err
	}
	return Policy{Name: sdkaws.ToString(out.PolicyName), ARN: sdkaws.ToString(out.PolicyArn),
		Document: sdkaws.ToString(out.PolicyDocument), VersionID: sdkaws.ToString(out.PolicyVersionId)}, nil
}

func (c *sdkClient) GetPolicy(ctx context.Context, name string) (Policy, error) {
	out, err := c.iot.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: sdkaws.String(name)})
	if err != nil {
		err = c.wrap("GetPolicy", err)
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			e.say(ReasonPolicyNotFound, "Name", name, "Region", c.region)
		}
		return Policy{}, err
	}
	return Policy{Name: sdkaws.ToString(out.PolicyName), ARN: sdkaws.ToString(out.PolicyArn),
		Document: sdkaws.ToString(out.PolicyDocument), VersionID: sdkaws.ToString(out.DefaultVersionId)}, nil
}

func (c *sdkClient) DeletePolicy(ctx context.Context, name string) error {
	_, err := c.iot.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String(name)})
	return c.wrap("DeletePolicy", err)
}

func (c *sdkClient) AttachPolicy(ctx context.Context, name, targetARN string) error {
	_, err := c.iot.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: sdkaws.String(name), Target: sdkaws.String(targetARN)})
	return c.wrap("AttachPolicy", err)
}

func (c *sdkClient) DetachPolicy(ctx context.Context, name, targetARN string) error {
	_, err := c.iot.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: sdkaws.String(name), Target: sdkaws.String(targetARN)})
	return c.wrap("DetachPolicy", err)
}

func (c *sdkClient) ListAttachedPolicies(ctx context.Context, targetARN string) ([]PolicyRef, error) {
	p := iot.NewListAttachedPoliciesPaginator(c.iot, &iot.ListAttachedPoliciesInput{Target: sdkaws.String(targetARN), PageSize: sdkaws.Int32(250)})
	return collect(ctx, c, "ListAttachedPolicies", p, func(out *iot.ListAttachedPoliciesOutput) []PolicyRef {
		var refs []PolicyRef
		for _, pol := range out.Policies {
			refs = append(refs, PolicyRef{Name: sdkaws.ToString(pol.PolicyName), ARN: sdkaws.ToString(pol.PolicyArn)})
		}
		return refs
	})
}

func (c *sdkClient) ListTargetsForPolicy(ctx context.Context, name string) ([]string, error) {
	p := iot.NewListTargetsForPolicyPaginator(c.iot, &iot.ListTargetsForPolicyInput{PolicyName: sdkaws.String(name), PageSize: sdkaws.Int32(250)})
	return collect(ctx, c, "ListTargetsForPolicy", p, func(out *iot.ListTargetsForPolicyOutput) []string { return out.Targets })
}

// attachedPolicyARNs is the set of the managed policies attached to the role name, by ARN.
func (c *sdkClient) attachedPolicyARNs(ctx context.Context, name string) (map[string]bool, error) {
	attached := map[string]bool{}
	p := iam.NewListAttachedRolePoliciesPaginator(c.iam, &iam.ListAttachedRolePoliciesInput{RoleName: sdkaws.String(name)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.wrap("ListAttachedRolePolicies", err)
		}
		for _, ap := range out.AttachedPolicies {
			attached[sdkaws.ToString(ap.PolicyArn)] = true
		}
	}
	return attached, nil
}

// TrustPolicy is the JITP role's trust policy: iot.amazonaws.com may assume it. With an
// account, it is limited to this account's IoT resources in this region by the
// confused-deputy condition of the AWS IoT Developer Guide (cross-service-confused-deputy-
// prevention.html: aws:SourceAccount and aws:SourceArn arn:<partition>:iot:<region>:<account>:*);
// with an empty account the Condition block is left out. The guide recommends the condition
// for "the AWS IoT role trust policy" in general; neither it nor the JITP page
// (jit-provisioning.html) nor the provisioning-template pages say that JITP sends these keys
// when it assumes the provisioning role, and the walkthrough's role has no condition — so
// jitpwiz adds it only when asked (RoleSpec.TrustCondition, --trust-condition on).
func TrustPolicy(account, region string) string {
	stmt := map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "iot.amazonaws.com"},
		"Action":    "sts:AssumeRole",
	}
	if account != "" {
		r := region
		if r == "" {
			r = "*"
		}
		stmt["Condition"] = map[string]any{
			"StringEquals": map[string]string{"aws:SourceAccount": account},
			"ArnLike":      map[string]string{"aws:SourceArn": IoTARN(r, account, "*")},
		}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{stmt}})
	return string(b)
}

// trustsIoT reports whether a (possibly URL-encoded) trust policy lets iot.amazonaws.com
// assume the role for this account and region. When an IoT statement exists but its
// confused-deputy condition (aws:SourceAccount / aws:SourceArn) excludes this account or
// region, ok is false and reason says why.
func trustsIoT(doc, account, region string) (ok bool, reason string, err error) {
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	stmts, err := iamdoc.Statements(doc)
	if err != nil {
		return false, "", err
	}
	for _, s := range stmts {
		if !s.AllowsAssumeRole() {
			continue
		}
		var principal struct{ Service json.RawMessage }
		if json.Unmarshal(s["Principal"], &principal) != nil || !slices.Contains(iamdoc.StringOrList(principal.Service), "iot.amazonaws.com") {
			continue
		}
		if r := conditionExcludes(s["Condition"], account, region); r != "" {
			reason = r
			continue
		}
		return true, "", nil
	}
	return false, reason, nil
}

// conditionExcludes checks a trust statement's aws:SourceAccount / aws:SourceArn
// conditions against the account and region AWS IoT will act from.
func conditionExcludes(raw json.RawMessage, account, region string) string {
	if len(raw) == 0 || account == "" {
		return ""
	}
	var cond map[string]map[string]json.RawMessage
	if json.Unmarshal(raw, &cond) != nil {
		return ""
	}
	// Account first, then ARN, so the reason does not depend on map order.
	for _, want := range []string{"aws:sourceaccount", "aws:sourcearn"} {
		for _, op := range slices.Sorted(maps.Keys(cond)) {
			like := strings.Contains(op, "Like")
			for key, vals := range cond[op] {
				if strings.ToLower(key) != want {
					continue
				}
				values := iamdoc.StringOrList(vals)
				if want == "aws:sourceaccount" {
					if !slices.ContainsFunc(values, func(v string) bool { return v == account || (like && globMatch(v, account)) }) {
						return phrase("trust.source-account", "Values", strings.Join(values, ", "), "Account", account)
					}
				} else if !slices.ContainsFunc(values, func(v string) bool { return arnCovers(v, account, region, like) }) {
					return phrase("trust.source-arn", "Values", strings.Join(values, ", "), "Region", region, "Account", account)
				}
			}
		}
	}
	return ""
}

// arnCovers reports whether an ARN (pattern) can name AWS IoT resources of account in region.
func arnCovers(pattern, account, region string, like bool) bool {
	parts := strings.SplitN(pattern, ":", 6)
	if len(parts) < 6 {
		return like && pattern == "*"
	}
	match := func(p, v string) bool {
		if like {
			return globMatch(p, v)
		}
		return p == v
	}
	return match(parts[1], Partition(region)) && match(parts[2], "iot") && match(parts[3], region) && match(parts[4], account)
}

// globMatch matches IAM wildcards: * any run of characters, ? one character. Linear
// time: on a mismatch it backtracks only to the last star.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// EnsureRole creates the JITP role or reuses an existing one: an existing role must trust
// iot.amazonaws.com (else an *Error of KindConflict), and missing managed policies are attached.
func (c *sdkClient) EnsureRole(ctx context.Context, spec RoleSpec) (Role, error) {
	name := spec.Name
	if name == "" {
		name = DefaultRoleName
	}
	account, region := spec.Account, spec.Region
	if region == "" {
		region = c.region
	}
	policies := spec.ManagedPolicyARNs
	if len(policies) == 0 {
		policies = RolePolicies(region)
	}
	if account == "" {
		a, err := c.CallerAccount(ctx)
		if err != nil {
			return Role{}, err
		}
		account = a
	}

	if spec.ExistingARN != "" {
		return c.existingRole(ctx, spec.ExistingARN, policies, account, region)
	}
	trust := TrustPolicy("", region)
	if spec.TrustCondition {
		trust = TrustPolicy(account, region)
	}
	got, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String(name)})
	if err == nil && got.Role != nil {
		return c.reuseRole(ctx, name, got.Role.Arn, got.Role.AssumeRolePolicyDocument, policies, account, region, trust)
	}
	if err = c.wrap("GetRole", err); !IsKind(err, KindNotFound) {
		return Role{}, err
	}
	created, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 sdkaws.String(name),
		AssumeRolePolicyDocument: sdkaws.String(trust),
		Description:              sdkaws.String("AWS IoT Just-in-Time Provisioning role (created by jitpwiz)"),
	})
	if err != nil {
		err = c.wrap("CreateRole", err)
		if IsKind(err, KindAlreadyExists) { // created in between: reuse it
			got, gerr := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String(name)})
			if gerr != nil {
				return Role{}, c.wrap("GetRole", gerr)
			}
			return c.reuseRole(ctx, name, got.Role.Arn, got.Role.AssumeRolePolicyDocument, policies, account, region, trust)
		}
		return Role{}, err
	}
	r := Role{Name: name, ARN: sdkaws.ToString(created.Role.Arn), Created: true}
	for _, p := range policies {
		if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: sdkaws.String(name), PolicyArn: sdkaws.String(p)}); err != nil {
			return r, c.wrap("AttachRolePolicy", err)
		}
		r.Notes = append(r.Notes, phrase("note.attached", "Policy", policyShortName(p)))
	}
	return r, nil
}

func (c *sdkClient) reuseRole(ctx context.Context, name string, arn, trustDoc *string, policies []string, account, region, trust string) (Role, error) {
	r := Role{Name: name, ARN: sdkaws.ToString(arn)}
	if err := checkTrust(name, r.ARN, sdkaws.ToString(trustDoc), account, region, trust); err != nil {
		return r, err
	}
	r.Notes = append(r.Notes, phrase("note.reused", "Role", name))
	attached, err := c.attachedPolicyARNs(ctx, name)
	if err != nil {
		return r, err
	}
	for _, pol := range policies {
		if attached[pol] {
			r.Notes = append(r.Notes, phrase("note.already-attached", "Policy", policyShortName(pol)))
			continue
		}
		if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: sdkaws.String(name), PolicyArn: sdkaws.String(pol)}); err != nil {
			return r, c.wrap("AttachRolePolicy", err)
		}
		r.Notes = append(r.Notes, phrase("note.attached-missing", "Policy", policyShortName(pol)))
	}
	return r, nil
}

// checkTrust refuses a role AWS IoT could not assume for provisioning here; the fix is the
// trust policy to set (with a corrected condition when the role has one that excludes us).
func checkTrust(name, arn, doc, account, region, trust string) error {
	ok, reason, perr := trustsIoT(doc, account, region)
	if perr == nil && ok {
		return nil
	}
	if reason != "" {
		trust = TrustPolicy(account, region)
	}
	e := &Error{Kind: KindConflict, Op: "GetRole", ResourceID: name, ResourceARN: arn}
	e.say(ReasonRoleNotTrusted, "Role", name, "Why", reason, "Trust", trust)
	return e
}

// roleARNRE is an IAM role ARN: partition, 12-digit account, optional path, name.
var roleARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)

// ParseRoleARN checks an IAM role ARN and returns its partition, account and name.
func ParseRoleARN(arn string) (partition, account, name string, err error) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", errors.New(phrase("parse.role-arn", "ARN", strconv.Quote(arn)))
	}
	return m[1], m[2], m[4], nil
}

// existingRole checks a role given by ARN (--role-arn) without changing anything: it must
// be of this partition; when IAM lets us read it, it must trust iot.amazonaws.com, and the
// notes say whether AWSIoTThingsRegistration is attached. A role we may not read is used as
// given, and the notes say what was not checked.
func (c *sdkClient) existingRole(ctx context.Context, arn string, policies []string, account, region string) (Role, error) {
	part, roleAccount, name, err := ParseRoleARN(arn)
	if err != nil {
		e := &Error{Kind: KindConfig, Op: "GetRole", Err: err}
		e.say(ReasonRoleARN, "ARN", arn)
		return Role{}, e
	}
	r := Role{Name: name, ARN: arn}
	if part != Partition(region) {
		e := &Error{Kind: KindConfig, Op: "GetRole", ResourceARN: arn}
		e.say(ReasonRoleARNPartition, "ARN", arn, "Partition", part, "Region", region, "Want", Partition(region))
		return r, e
	}
	if account != "" && roleAccount != account {
		r.Notes = append(r.Notes, phrase("note.other-account", "Account", roleAccount, "Want", account))
		return r, nil
	}
	got, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String(name)})
	if err != nil {
		err = c.wrap("GetRole", err)
		if IsKind(err, KindAccessDenied) {
			r.Notes = append(r.Notes, phrase("note.not-readable"))
			return r, nil
		}
		if IsKind(err, KindNotFound) {
			var e *Error
			errors.As(err, &e)
			e.say(ReasonRoleARNMissing, "ARN", arn, "Name", name)
		}
		return r, err
	}
	if got.Role != nil && sdkaws.ToString(got.Role.Arn) != "" && sdkaws.ToString(got.Role.Arn) != arn {
		e := &Error{Kind: KindConfig, Op: "GetRole", ResourceARN: arn}
		e.say(ReasonRoleARNPath, "ARN", arn, "Name", name, "Actual", sdkaws.ToString(got.Role.Arn))
		return r, e
	}
	if got.Role != nil {
		if err := checkTrust(name, arn, sdkaws.ToString(got.Role.AssumeRolePolicyDocument), account, region, TrustPolicy("", region)); err != nil {
			return r, err
		}
	}
	r.Notes = append(r.Notes, phrase("note.existing", "Role", name))
	attached, err := c.attachedPolicyARNs(ctx, name)
	if err != nil {
		r.Notes = append(r.Notes, phrase("note.unlisted", "Err", err.Error()))
		return r, nil
	}
	if len(policies) > 0 && !attached[policies[0]] {
		r.Notes = append(r.Notes, phrase("note.not-attached", "Policy", policyShortName(policies[0])))
	} else if len(policies) > 0 {
		r.Notes = append(r.Notes, phrase("note.policy-attached", "Policy", policyShortName(policies[0])))
	}
	return r, nil
}

func policyShortName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
