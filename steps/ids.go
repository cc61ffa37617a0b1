package steps

import "fmt"

// ID names a step; it is stable and used in the session file and on the command line.
type ID string

// The 13 documented steps (the walkthrough's order), and the step JITR adds.
const (
	IDCAKey        ID = "ca-key"
	IDOpenSSLConf  ID = "openssl-conf"
	IDCACert       ID = "ca-cert"
	IDRegCode      ID = "registration-code"
	IDVerifCert    ID = "verification-cert"
	IDRole         ID = "role"
	IDTemplate     ID = "template"
	IDRegisterCA   ID = "register-ca"
	IDDeviceCert   ID = "device-cert"
	IDServerTrust  ID = "server-trust"
	IDFirstConnect ID = "first-connect"
	IDVerify       ID = "verify"
	IDUse          ID = "use"

	// IDActivate is JITR's activation, after the first connect: step 11a.
	IDActivate ID = "activate"
)

// documented is the walkthrough's order of the steps: the numbers ParseID accepts.
var documented = []ID{IDCAKey, IDOpenSSLConf, IDCACert, IDRegCode, IDVerifCert, IDRole, IDTemplate,
	IDRegisterCA, IDDeviceCert, IDServerTrust, IDFirstConnect, IDVerify, IDUse}

// activateLabel is the activate step's number: it comes after step 11 (the first connect
// that registered the certificate) and before step 12, so the documented steps keep theirs.
const activateLabel = "11a"

// StepLabel is the number a step goes by — its place in the walkthrough ("8"), or "11a"
// for JITR's activation — or "" for a step that is none of these.
func StepLabel(id ID) string {
	if id == IDActivate {
		return activateLabel
	}
	for i, d := range documented {
		if d == id {
			return fmt.Sprint(i + 1)
		}
	}
	return ""
}
