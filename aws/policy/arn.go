package policy

import (
	"regexp"
	"strings"
)

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// ValidRegion reports whether region is shaped like an AWS region code (us-east-2,
// us-gov-west-1, ap-southeast-7), not a display name like "US East (Ohio)". The one
// region-name check of jitpwiz: flags, templates, the AWS client and the local IoT Core.
func ValidRegion(region string) bool { return regionRE.MatchString(region) }

// Partition returns the ARN partition of a region ("aws", "aws-cn", "aws-us-gov").
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func iotARN(region, account, kind, name string) string {
	return "arn:" + Partition(region) + ":iot:" + region + ":" + account + ":" + kind + "/" + name
}

// ClientARN is the resource of iot:Connect for a client ID.
func ClientARN(region, account, clientID string) string {
	return iotARN(region, account, "client", clientID)
}

// TopicARN is the resource of iot:Publish, iot:Receive and iot:RetainPublish.
func TopicARN(region, account, topic string) string {
	return iotARN(region, account, "topic", topic)
}

// TopicFilterARN is the resource of iot:Subscribe: the literal filter, `+` and `#` included.
func TopicFilterARN(region, account, filter string) string {
	return iotARN(region, account, "topicfilter", filter)
}
