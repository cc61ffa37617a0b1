package store

import (
	"sort"
	"strings"
	"time"
)

// The AWS managed policies this local IAM knows: the ones a JITP setup attaches to its
// provisioning role, and the broad ones people reach for. Documents, default versions and
// dates are those of the AWS Managed Policy Reference
// (docs.aws.amazon.com/aws-managed-policy/latest/reference/<Name>.html), compacted;
// descriptions are left out. AWSIoTRuleActions's document is the one moto's copy of
// AWS's catalogue lists (the reference page could not be read here) [C]. AttachRolePolicy with any other
// arn:aws:iam::aws:policy/… fails with NoSuchEntity here, although AWS has the policy.
// Each partition has its own copy: arn:aws-cn:iam::aws:policy/… in China, arn:aws-us-gov:…
// in GovCloud; an ARN of another partition than the region's does not exist there.
var awsManaged = func() map[string]*ManagedPolicy {
	day := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	list := []*ManagedPolicy{
		{Name: "AWSIoTThingsRegistration", Path: "/service-role/", DefaultVersionID: "v3",
			Created: day("2017-12-01T20:21:52Z"), Updated: day("2020-10-05T19:20:12Z"),
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:AddThingToThingGroup","iot:AttachPolicy","iot:AttachPrincipalPolicy","iot:AttachThingPrincipal","iot:CreateCertificateFromCsr","iot:CreatePolicy","iot:CreateThing","iot:DescribeCertificate","iot:DescribeThing","iot:DescribeThingGroup","iot:DescribeThingType","iot:DetachPolicy","iot:DetachThingPrincipal","iot:GetPolicy","iot:ListAttachedPolicies","iot:ListPolicyPrincipals","iot:ListPrincipalPolicies","iot:ListPrincipalThings","iot:ListTargetsForPolicy","iot:ListThingGroupsForThing","iot:ListThingPrincipals","iot:RegisterCertificate","iot:RegisterThing","iot:RemoveThingFromThingGroup","iot:UpdateCertificate","iot:UpdateThing","iot:UpdateThingGroupsForThing","iot:AddThingToBillingGroup","iot:DescribeBillingGroup","iot:RemoveThingFromBillingGroup"],"Resource":["*"]}]}`},
		{Name: "AWSIoTLogging", Path: "/service-role/", DefaultVersionID: "v1",
			Created: day("2015-10-08T15:17:25Z"), Updated: day("2015-10-08T15:17:25Z"),
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents","logs:PutMetricFilter","logs:PutRetentionPolicy","logs:GetLogEvents","logs:DeleteLogStream"],"Resource":["*"]}]}`},
		{Name: "AWSIoTRuleActions", Path: "/service-role/", DefaultVersionID: "v2",
			Created: day("2015-10-08T15:14:51Z"), Updated: day("2018-01-16T19:28:19Z"),
			Document: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["dynamodb:PutItem","kinesis:PutRecord","iot:Publish","s3:PutObject","sns:Publish","sqs:SendMessage*","cloudwatch:SetAlarmState","cloudwatch:PutMetricData","es:ESHttpPut","firehose:PutRecord"],"Resource":"*"}}`},
		{Name: "AWSIoTFullAccess", Path: "/", DefaultVersionID: "v2",
			Created: day("2015-10-08T15:19:49Z"), Updated: day("2022-05-19T21:39:11Z"),
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:*","iotjobsdata:*"],"Resource":"*"}]}`},
		{Name: "AWSIoTDataAccess", Path: "/", DefaultVersionID: "v3",
			Created: day("2015-10-27T21:51:18Z"), Updated: day("2021-06-23T21:34:47Z"),
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Publish","iot:Subscribe","iot:Receive","iot:GetThingShadow","iot:UpdateThingShadow","iot:DeleteThingShadow","iot:ListNamedShadowsForThing"],"Resource":"*"}]}`},
		{Name: "AdministratorAccess", Path: "/", DefaultVersionID: "v1",
			Created: day("2015-02-06T18:39:46Z"), Updated: day("2015-02-06T18:39:46Z"),
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	}
	m := map[string]*ManagedPolicy{}
	for _, p := range list {
		p.ARN = "arn:aws:iam::aws:policy" + p.Path + p.Name
		p.ID = "ANPA" + strings.ToUpper(strings.NewReplacer("AWS", "", "IoT", "IOT").Replace(p.Name))
		p.awsManaged = true
		m[p.ARN] = p
	}
	return m
}()

// awsManagedPolicy returns a copy of a known AWS managed policy of the partition, or nil.
func awsManagedPolicy(arn, partition string) *ManagedPolicy {
	rest, ok := strings.CutPrefix(arn, "arn:"+partition+":")
	if !ok {
		return nil
	}
	p := awsManaged["arn:aws:"+rest]
	if p == nil {
		return nil
	}
	c := *p
	c.ARN = arn
	return &c
}

// AWSManagedPolicyNames are the names of the AWS managed policies this local IAM knows.
func AWSManagedPolicyNames() []string {
	out := make([]string, 0, len(awsManaged))
	for _, p := range awsManaged {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}
