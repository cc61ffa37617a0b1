package steps

import (
	"reflect"
	"testing"
)

// TestWhere: the header's facts — the profile in use (--profile, else AWS_PROFILE for the aws
// target) and the local IoT Core's default ports that were busy.
func TestWhere(t *testing.T) {
	t.Setenv("AWS_PROFILE", "from-env")
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Target: TargetAWS, Region: "eu-west-1"}, "from-env"},
		{Options{Target: TargetAWS, Region: "eu-west-1", Profile: "dev"}, "dev"},
		{Options{}, ""}, // local: no profile
	} {
		c.o.Dir = t.TempDir()
		s, err := Open(c.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Where().Profile; got != c.want {
			t.Errorf("%+v: profile %q, want %q", c.o, got, c.want)
		}
		s.Close()
	}
	if got := movedPorts("http://127.0.0.1:4599", 8883); len(got) != 0 {
		t.Errorf("default ports reported as moved: %v", got)
	}
	want := []PortMove{{What: "API", Default: 4599, Used: 40001}, {What: "MQTT", Default: 8883, Used: 40002}}
	if got := movedPorts("http://127.0.0.1:40001", 40002); !reflect.DeepEqual(got, want) {
		t.Errorf("moved ports %v, want %v", got, want)
	}
}
