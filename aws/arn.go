package aws

import "github.com/jitpwiz/jitpwiz/aws/policy"

// ARNs of the partition a region belongs to. Every ARN jitpwiz writes — the managed policies
// of the provisioning role, the trust policy's aws:SourceArn, certificate, CA, thing, policy
// and rule ARNs — is built here, so that China (cn-north-1, cn-northwest-1: aws-cn) and
// GovCloud (us-gov-west-1, us-gov-east-1: aws-us-gov) get their own partition and not
// "arn:aws:". (IAM User Guide, reference_identifiers.html "ARN format": the partition is
// aws, aws-cn or aws-us-gov.)

// Partition returns the ARN partition of a region: "aws", "aws-cn" or "aws-us-gov".
func Partition(region string) string { return policy.Partition(region) }

// The managed policies of the JITP provisioning role, by path and name (the ARN's last part).
const (
	ManagedThingsRegistration = "service-role/AWSIoTThingsRegistration"
	ManagedIoTLogging         = "service-role/AWSIoTLogging"
	ManagedIoTRuleActions     = "service-role/AWSIoTRuleActions"
)

// ManagedPolicyARN is the ARN of the AWS managed policy pathName (e.g.
// ManagedThingsRegistration) in the partition of region.
func ManagedPolicyARN(region, pathName string) string {
	return "arn:" + Partition(region) + ":iam::aws:policy/" + pathName
}

// RolePolicies are the managed policies the walkthrough attaches to JITPRole, in the
// partition of region (AWSIoTThingsRegistration is the one JITP needs).
func RolePolicies(region string) []string {
	return []string{ManagedPolicyARN(region, ManagedThingsRegistration), ManagedPolicyARN(region, ManagedIoTLogging),
		ManagedPolicyARN(region, ManagedIoTRuleActions)}
}

// IoTARN is the ARN of an AWS IoT resource ("cert/<id>", "thing/<name>", "rule/<name>", "*")
// of account in region.
func IoTARN(region, account, resource string) string {
	return "arn:" + Partition(region) + ":iot:" + region + ":" + account + ":" + resource
}

// ServiceARN is the ARN of a resource of another service (e.g. "lambda", "function:F") of
// account in region.
func ServiceARN(service, region, account, resource string) string {
	return "arn:" + Partition(region) + ":" + service + ":" + region + ":" + account + ":" + resource
}

// CertificateARN is the ARN AWS IoT gives the certificate with this ID.
func CertificateARN(region, account, certID string) string {
	return IoTARN(region, account, "cert/"+certID)
}
