package api

import (
	"context"
	"fmt"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
)

// BenchmarkDescribeThing is one signed SDK round trip of a read (the wizard's
// verification polls).
func BenchmarkDescribeThing(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	if _, err := e.iot.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String("DemoThing")}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.iot.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: sdkaws.String("DemoThing")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreatePolicy is one signed SDK round trip of a write (validation, store
// transaction, fsync'd state file).
func BenchmarkCreatePolicy(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.iot.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: sdkaws.String(fmt.Sprintf("p%d", i)), PolicyDocument: sdkaws.String(allowAll)}); err != nil {
			b.Fatal(err)
		}
	}
}
