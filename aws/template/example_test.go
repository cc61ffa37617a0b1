package template_test

import (
	"fmt"

	"github.com/jitpwiz/jitpwiz/aws/template"
)

func ExampleTemplate_Evaluate() {
	out, err := template.Render(template.Scoped, "us-east-2", "123456789012", "", "")
	if err != nil {
		panic(err)
	}
	cfg, err := template.ParseRegistrationConfig(out)
	if err != nil {
		panic(err)
	}
	tpl, err := template.Parse(cfg.TemplateBody)
	if err != nil {
		panic(err)
	}
	plan, err := tpl.Evaluate(map[string]string{
		template.ParamCommonName: "DemoThing",
		template.ParamCountry:    "IN",
		template.ParamID:         "0c4d5e6f",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(plan.Thing.Name, plan.Thing.Attributes, plan.Certificate.Status, plan.Policy.Inline)

	// A certificate without C (country) fails as it does on AWS.
	_, err = tpl.Evaluate(map[string]string{template.ParamCommonName: "DemoThing", template.ParamID: "0c4d5e6f"})
	fmt.Println(err)
	// Output:
	// DemoThing map[country:IN version:v1] ACTIVE true
	// Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Country}
}
