package steps

import (
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// checkSupplied loads and checks the files of a bring-your-own CA (--ca-cert/--ca-key, root
// or intermediate: it becomes the issuing CA registered in step 8, and steps 1–3 are skipped)
// and device (--device-cert/--device-key: step 9 checks it instead of making one). Supplied
// files are only read, never rewritten. Errors name the flag and the fix.
func (s *Session) checkSupplied() error {
	o := &s.Options
	if o.CACertFile == "" && s.CA.Supplied {
		s.CA = CAResult{} // back to a CA of the workspace's own (steps 1–3 run)
	}
	if d := s.DeviceFor(o.Thing); o.DeviceCertFile == "" && d != nil && d.Supplied {
		// --device-cert cleared: this thing gets a certificate of the workspace's own (at the
		// walkthrough's names if it is the primary thing). Other things keep theirs.
		delete(s.Devices, o.Thing)
	}
	if d := s.DeviceFor(o.Thing); o.DeviceCertFile != "" && d != nil && !d.Supplied {
		// Now testing the user's certificate for a thing that had one made here: the record
		// switches to the supplied files (the workspace's files stay on disk).
		delete(s.Devices, o.Thing)
	}
	if o.CACertFile != "" {
		ca, err := pki.LoadCAFiles(o.CACertFile, o.CAKeyFile, s.Now())
		if err != nil {
			return fmt.Errorf("--ca-cert/--ca-key: %w", err)
		}
		s.setCA(ca, o.CACertFile, o.CAKeyFile)
		s.CA.Supplied = true
	}
	if o.DeviceCertFile != "" {
		c, err := pki.LoadCertFile(o.DeviceCertFile)
		if err != nil {
			return fmt.Errorf("--device-cert %s: %w", o.DeviceCertFile, err)
		}
		k, err := pki.LoadKeyFile(o.DeviceKeyFile)
		if err != nil {
			return fmt.Errorf("--device-key %s: %w", o.DeviceKeyFile, err)
		}
		if !pki.KeyMatchesCert(k, c) {
			return fmt.Errorf("--device-key %s does not belong to --device-cert %s — give the key the certificate was made from", o.DeviceKeyFile, o.DeviceCertFile)
		}
		if s.ca != nil {
			if err := c.CheckSignatureFrom(s.ca.Cert); err != nil {
				return fmt.Errorf("--device-cert %s was not signed by --ca-cert %s: AWS IoT would not recognise it — give the CA that issued it", o.DeviceCertFile, o.CACertFile)
			}
		}
		cn := c.Subject.CommonName
		if o.Thing == "" {
			if cn == "" {
				return fmt.Errorf("--device-cert %s has no Common Name, so the thing name is unknown — add --thing NAME", o.DeviceCertFile)
			}
			o.Thing = cn
		}
		if err := pki.ValidateThingName(o.Thing); err != nil {
			return fmt.Errorf("--thing (from the CN of --device-cert): %w", err)
		}
	}
	return nil
}
