package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// TestRunPutsServerCAInWorkspace: `jitpwiz local --dir D` writes the server CA to
// D/awsRootCA.pem, the name the walkthrough's commands use, and its commands run from D (cd D,
// --cafile awsRootCA.pem, and a publish as the thing with client ID = thing name). A
// different awsRootCA.pem already there (another target's) is kept, and the commands name the
// state's file instead.
func TestRunPutsServerCAInWorkspace(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, dir string) string {
		ctx, cancel := context.WithCancel(context.Background())
		var out testtool.Buffer
		done := make(chan error, 1)
		go func() { done <- Run(ctx, Options{Dir: dir, APIAddr: ":0", MQTTAddr: ":0", Thing: "Sensor-7"}, &out) }()
		banner := waitFor(t, &out, "Events (Ctrl+C to stop):")
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return banner
	}
	t.Run("new", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		banner := run(t, dir)
		got, err := os.ReadFile(filepath.Join(dir, pki.FileServerRootCA))
		if err != nil {
			t.Fatalf("no %s in the workspace: %v", pki.FileServerRootCA, err)
		}
		state, _ := os.ReadFile(filepath.Join(StateDir(dir), pki.FileServerRootCA))
		if !bytes.Equal(got, state) {
			t.Error("the workspace's awsRootCA.pem is not the broker's server CA")
		}
		for _, want := range []string{"  cd " + dir + "\n", "--cafile awsRootCA.pem --cert deviceCertAndCACert.crt", "--cafile awsRootCA.pem --cert deviceCert.crt --key deviceCert.key",
			"-t Sensor-7/test -i Sensor-7", "MQTT_HOST=localhost MQTT_PORT="} {
			if !strings.Contains(banner, want) {
				t.Errorf("banner lacks %q:\n%s", want, banner)
			}
		}
	})
	t.Run("another server CA kept", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		other := []byte("-----BEGIN CERTIFICATE-----\nnot this broker's\n-----END CERTIFICATE-----\n")
		if err := os.WriteFile(filepath.Join(dir, pki.FileServerRootCA), other, 0o644); err != nil {
			t.Fatal(err)
		}
		banner := run(t, dir)
		if got, _ := os.ReadFile(filepath.Join(dir, pki.FileServerRootCA)); !bytes.Equal(got, other) {
			t.Error("an awsRootCA.pem of the workspace was overwritten")
		}
		if want := "--cafile " + filepath.Join(StateDir(dir), pki.FileServerRootCA) + " "; !strings.Contains(banner, want) || strings.Contains(banner, "  cd ") || !strings.Contains(banner, "is kept") {
			t.Errorf("banner should say the file is kept and name the state's server CA:\n%s", banner)
		}
	})
}
