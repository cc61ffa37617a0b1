package mqttprobe_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
)

// The walkthrough's steps 11–13 with mqttprobe: the first connect (expected drop, then
// the certificate turns ACTIVE), the round trip as the thing, and the refused topic.
func Example() {
	ctx := context.Background()
	cloud, err := aws.New(ctx, aws.Config{Region: "us-east-2"})
	if err != nil {
		fmt.Println(err) // *aws.Error: cause and fix in plain words
		return
	}
	host, _ := cloud.DataEndpoint(ctx)
	first := mqttprobe.Options{Host: host, CertFile: "deviceCertAndCACert.crt", KeyFile: "deviceCert.key",
		CAFile: "awsRootCA.pem", ClientID: "anyclientID"}
	rep := mqttprobe.FirstConnect(ctx, first, cloud, mqttprobe.FirstConnectOptions{ThingName: "DemoThing",
		Poll: mqttprobe.PollOptions{OnStatus: func(o mqttprobe.Observation) { fmt.Println(o.Elapsed, o.Status) }}})
	if !rep.Activated {
		fmt.Println(rep.Diagnosis) // e.g. "cert-pending: … references AWS::IoT::Certificate::Country …"
		return
	}
	thing := first
	thing.CertFile, thing.ClientID = "deviceCert.crt", "DemoThing"
	res := mqttprobe.Use(ctx, thing, "DemoThing/test", 10*time.Second)
	if !res.OK() {
		f := mqttprobe.Facts{Use: &res, Options: thing, ThingName: "DemoThing"}
		mqttprobe.Gather(ctx, cloud, &f)
		fmt.Println(mqttprobe.Diagnose(f))
		return
	}
	fmt.Println("round trip", res.RTT)
	fmt.Println(mqttprobe.ProveRefused(ctx, thing, "other/test", false, 0).Detail)
}
