package broker

import (
	"context"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// mosquitto_pub -V mqttv5 sees PUBACK reason 135 (Not authorized) for a forbidden
// QoS 1 publish and keeps going: with -m and -l it would publish more on the same
// connection; here -r/-t differ, so two runs show both verdicts.
func TestMosquittoMQTT5Denials(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "mosquitto_pub")
	e, ca := jitpEnv(t)
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "FiveThing"})

	r := e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "FiveThing", "OtherThing/test", "-V", "mqttv5")
	if !strings.Contains(r.out, "received CONNACK (0)") || !strings.Contains(r.out, "received PUBACK (Mid: 1, RC:135)") ||
		strings.Contains(r.out, "connection was lost") {
		t.Fatalf("forbidden publish over MQTT 5: %s", r)
	}
	if ev := lastEvent(t, e, store.EventAuthorizationFailure); !strings.Contains(ev.Message, "0x87") {
		t.Fatalf("denial event %+v", ev)
	}
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "FiveThing", "FiveThing/test", "-V", "mqttv5")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK (Mid: 1, RC:0)") {
		t.Fatalf("allowed publish over MQTT 5: %s", r)
	}
	// The same forbidden publish over MQTT 3.1.1 loses the connection.
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "FiveThing", "OtherThing/test")
	if r.code == 0 || !strings.Contains(r.out, "connection was lost") {
		t.Fatalf("forbidden publish over MQTT 3.1.1: %s", r)
	}

	// mosquitto_sub -V mqttv5 with one allowed and one forbidden filter: SUBACK
	// grants the first and refuses the second with 135, and the allowed one works.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd, out := e.mosquittoSub(t, ctx, dev, "FiveThing", []string{"FiveThing/in", "OtherThing/in"}, "-V", "mqttv5", "-q", "1", "-C", "1", "-d", "-v")
	// The publisher uses another client ID: the same one would take over the subscriber.
	other := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "Sender"})
	_ = e.st.Update(func(st *store.State) error { // let Sender publish to FiveThing/in
		if _, err := st.CreatePolicy("SenderToFive", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:`+testRegion+`:`+testAccount+`:topic/FiveThing/in"}]}`, nil); err != nil {
			return err
		}
		return st.AttachPolicy("SenderToFive", st.LookupCertificate(other.ID).ARN)
	})
	if r := e.mosquittoPub(t, other.CertFile, other.KeyFile, "Sender", "FiveThing/in", "-V", "mqttv5"); r.code != 0 {
		t.Fatalf("sender: %s", r)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "received SUBACK") || !strings.Contains(got, "Subscribed (mid: 1): 1, 135") || !strings.Contains(got, "FiveThing/in Hello") {
		t.Fatalf("mosquitto_sub -V mqttv5:\n%s", got)
	}
}

// Debian's python3-paho-mqtt (1.6) as MQTT 3.1.1 and MQTT 5: a taken-over 3.1.1
// connection ends as a lost connection (rc 7), not a protocol error (rc 2) as when
// the broker sent it a DISCONNECT packet; an MQTT 5 one gets reason 142 (Session
// taken over); an MQTT 5 forbidden publish and subscribe get 135 and the client
// stays connected.
func TestPahoPythonTakeoverAndDenials(t *testing.T) {
	t.Parallel()
	py := pahoPython(t)
	e, ca := jitpEnv(t)
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "PyThing"})
	script, err := filepath.Abs(filepath.Join("testdata", "paho_check.py"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, py, script, e.host, e.port, e.rootCA, dev.CertFile, dev.KeyFile, "PyThing")
	want := []string{
		"v311 takeover: rc=7",
		"v5 takeover: reason=142 Session taken over",
		"v5 forbidden subscribe: 1,135",
		"v5 forbidden publish: connected=True",
		"v5 allowed message: PyThing/in hello",
	}
	for _, w := range want {
		if !strings.Contains(r.out, w) {
			t.Errorf("paho output lacks %q", w)
		}
	}
	if r.code != 0 || t.Failed() {
		t.Fatalf("paho check: %s", r)
	}
}

// pahoPython returns the Debian python3 that has paho-mqtt (scripts/deps.sh
// installs python3-paho-mqtt), skipping on a laptop without it but never in CI.
func pahoPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err == nil {
		if err := exec.Command(py, "-c", "import paho.mqtt.client").Run(); err == nil {
			return py
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s with paho-mqtt is required in CI (apt-get install python3-paho-mqtt; scripts/deps.sh does)", py)
	}
	t.Skip("python3-paho-mqtt not installed")
	return ""
}
