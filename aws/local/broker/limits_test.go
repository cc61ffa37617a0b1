package broker

import (
	"strings"
	"testing"
)

func TestCheckTopic(t *testing.T) {
	t.Parallel()
	cases := []struct {
		topic  string
		filter bool
		ok     bool
	}{
		{"DemoThing/test", false, true},
		{"a/b/c/d/e/f/g/h", false, true},    // 7 slashes
		{"a/b/c/d/e/f/g/h/i", false, false}, // 8 slashes
		{"$aws/rules/myrule/a/b/c/d/e/f/g/h", false, true},
		{"$aws/rules/myrule/a/b/c/d/e/f/g/h/i", false, false},
		{strings.Repeat("x", 256), false, true},
		{strings.Repeat("x", 257), false, false},
		{"", false, false},
		{"a/+/c", false, false},
		{"a/+/c", true, true},
		{"a/#", true, true},
		{"bad\xff", false, false},
	}
	for _, c := range cases {
		err := checkTopic(c.topic, c.filter)
		if (err == nil) != c.ok {
			t.Errorf("checkTopic(%q, %v) = %v, want ok=%v", c.topic, c.filter, err, c.ok)
		}
	}
}

func TestCheckClientID(t *testing.T) {
	t.Parallel()
	if err := checkClientID(strings.Repeat("a", 128)); err != nil {
		t.Fatal(err)
	}
	if err := checkClientID(strings.Repeat("a", 129)); err == nil {
		t.Fatal("129-byte client ID accepted")
	}
	if err := checkClientID("$thing"); err == nil {
		t.Fatal("$ client ID accepted")
	}
}

func TestReservedTopics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		topic   string
		publish bool
		ok      bool
	}{
		{"foo/bar", true, true},
		{"$aws/events/certificates/registered/abc", false, true},
		{"$aws/events/certificates/registered/abc", true, false},
		{"$aws/things/DemoThing/shadow/update", true, true},
		{"$SYS/broker/uptime", false, false},
		{"$SYS/#", false, false},
		{"$other", true, false},
	}
	for _, c := range cases {
		if got := reservedTopicAllowed(c.topic, c.publish); got != c.ok {
			t.Errorf("reservedTopicAllowed(%q, publish=%v) = %v", c.topic, c.publish, got)
		}
	}
}

func FuzzCheckTopic(f *testing.F) {
	for _, s := range []string{"a/b", "$aws/rules/r/x", "a/+/#", "", "////////"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, topic string, filter bool) {
		err := checkTopic(topic, filter)
		if err == nil {
			if len(topic) > MaxTopicBytes || topic == "" {
				t.Fatalf("accepted %q", topic)
			}
			if !filter && strings.ContainsAny(topic, "+#") {
				t.Fatalf("accepted wildcard topic %q", topic)
			}
		}
	})
}

func TestClampKeepalive(t *testing.T) {
	t.Parallel()
	for in, want := range map[uint16]uint16{0: 1200, 1: 30, 29: 30, 30: 30, 60: 60, 1200: 1200, 1201: 1200, 65535: 1200} {
		if got := clampKeepalive(in); got != want {
			t.Errorf("clampKeepalive(%d) = %d, want %d", in, got, want)
		}
	}
}
