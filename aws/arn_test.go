package aws

import (
	"strings"
	"testing"
)

// Each partition has its own ARNs (IAM User Guide, reference_identifiers.html): China's
// regions are aws-cn, GovCloud's aws-us-gov, every other region aws.
func TestPartitionARNs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ region, partition string }{
		{"us-east-1", "aws"}, {"eu-west-1", "aws"}, {"ap-southeast-7", "aws"},
		{"cn-north-1", "aws-cn"}, {"cn-northwest-1", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov"}, {"us-gov-east-1", "aws-us-gov"},
	} {
		p := tc.partition
		if got := Partition(tc.region); got != p {
			t.Errorf("Partition(%s) = %s, want %s", tc.region, got, p)
		}
		want := []string{"arn:" + p + ":iam::aws:policy/service-role/AWSIoTThingsRegistration",
			"arn:" + p + ":iam::aws:policy/service-role/AWSIoTLogging", "arn:" + p + ":iam::aws:policy/service-role/AWSIoTRuleActions"}
		if got := RolePolicies(tc.region); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("RolePolicies(%s) = %v, want %v", tc.region, got, want)
		}
		if got, want := CertificateARN(tc.region, "123456789012", "abc"), "arn:"+p+":iot:"+tc.region+":123456789012:cert/abc"; got != want {
			t.Errorf("CertificateARN = %s, want %s", got, want)
		}
		if got, want := ServiceARN("lambda", tc.region, "123456789012", "function:F"), "arn:"+p+":lambda:"+tc.region+":123456789012:function:F"; got != want {
			t.Errorf("ServiceARN = %s, want %s", got, want)
		}
		doc := TrustPolicy("123456789012", tc.region)
		if want := `"aws:SourceArn":"arn:` + p + `:iot:` + tc.region + `:123456789012:*"`; !strings.Contains(doc, want) {
			t.Errorf("TrustPolicy(%s) = %s, lacks %s", tc.region, doc, want)
		}
		if ok, reason, err := trustsIoT(doc, "123456789012", tc.region); !ok || err != nil {
			t.Errorf("trustsIoT(own partition, %s) = %v %q %v", tc.region, ok, reason, err)
		}
	}
	// A condition written for the aws partition does not cover AWS IoT in China or GovCloud,
	// even with wildcards for region and account.
	wild := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:iot:*:*:*"}}}]}`
	for _, r := range []string{"cn-north-1", "us-gov-west-1"} {
		if ok, reason, _ := trustsIoT(wild, "123456789012", r); ok || !strings.Contains(reason, "does not cover AWS IoT in "+r) {
			t.Errorf("trustsIoT(arn:aws:… condition, %s) = %v %q: must not cover another partition", r, ok, reason)
		}
	}
	if ok, _, _ := trustsIoT(wild, "123456789012", "eu-west-1"); !ok {
		t.Errorf("trustsIoT(arn:aws:iot:*:*:*, eu-west-1) = false")
	}
}
