package steps_test

import (
	"context"
	"strings"
	"testing"
)

// TestE2EPartitions: in China and GovCloud every ARN jitpwiz builds is of the region's
// partition — the role's managed policies (the local IAM, like AWS, knows
// arn:aws-cn:iam::aws:policy/… in cn-north-1 and not arn:aws:…), the certificate ARNs that
// verify and clean use — and the device is provisioned end to end.
func TestE2EPartitions(t *testing.T) {
	t.Parallel()
	for region, part := range map[string]string{"cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"} {
		t.Run(region, func(t *testing.T) {
			t.Parallel()
			dir, r := runFresh(t, "--region", region)
			if !strings.Contains(r.out, "published as itself") {
				t.Fatalf("not provisioned in %s:\n%s", region, r)
			}
			s := session(t, dir)
			d := s.Device()
			if want := "arn:" + part + ":iot:" + region + ":"; !strings.HasPrefix(d.CertARN, want) || !strings.HasPrefix(s.CA.RegisteredARN, want) {
				t.Errorf("ARNs of another partition: certificate %s, CA %s (want %s…)", d.CertARN, s.CA.RegisteredARN, want)
			}
			if !strings.HasPrefix(s.Role.ARN, "arn:"+part+":iam::") {
				t.Errorf("role ARN %s is not of partition %s", s.Role.ARN, part)
			}
			if ps, err := s.Client().ListThingPrincipals(context.Background(), d.Thing); err != nil || len(ps) != 1 || ps[0] != d.CertARN {
				t.Errorf("the thing's principal %v (%v) is not the recorded certificate ARN %s", ps, err, d.CertARN)
			}
			// Step 6 got this far because the managed policy ARNs were of the partition: the
			// local IAM refuses arn:aws:iam::aws:policy/… outside the aws partition, as AWS does.
			if n := strings.Join(s.Role.Notes, "; "); !strings.Contains(n, "AWSIoTThingsRegistration") {
				t.Errorf("role notes %q", n)
			}
			s.Close()
			r = mustRun(t, "clean", "--dir", dir, "--yes")
			if strings.Contains(r.out, "✗") {
				t.Errorf("clean in %s:\n%s", region, r)
			}
		})
	}
}
