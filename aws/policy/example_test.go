package policy_test

import (
	"fmt"

	"github.com/jitpwiz/jitpwiz/aws/policy"
)

func ExampleEvaluate() {
	doc, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect",
		"Resource":"arn:aws:iot:us-east-2:123456789012:client/${iot:Connection.Thing.ThingName}"}]}`)
	if err != nil {
		panic(err)
	}
	doc.Name = "DemoPolicy"
	ctx := policy.Context{AttachedThings: map[string]policy.Thing{"DemoThing": {Name: "DemoThing"}}}
	for _, client := range []string{"DemoThing", "anyclientID"} {
		ctx.ClientID = client
		d := policy.Evaluate([]*policy.Document{doc}, ctx, policy.Request{
			Action: "iot:Connect", Resource: policy.ClientARN("us-east-2", "123456789012", client)})
		fmt.Println(d.Allowed, "-", d.Explain)
	}
	// Output:
	// true - iot:Connect on arn:aws:iot:us-east-2:123456789012:client/DemoThing is allowed by statement 1 of policy 'DemoPolicy'
	// false - iot:Connect on arn:aws:iot:us-east-2:123456789012:client/anyclientID is denied: statement 1 of policy 'DemoPolicy' allows iot:Connect, but client ID 'anyclientID' is not the thing name 'DemoThing', so ${iot:Connection.Thing.ThingName} does not resolve
}
