package steps

import (
	"fmt"
	"strings"
)

// ID names a step; it is stable and used in the session file and on the command line.
type ID string

// The 13 documented steps (the walkthrough's order).
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
)

// documented is the walkthrough's order of the steps: the numbers ParseID accepts.
var documented = []ID{IDCAKey, IDOpenSSLConf, IDCACert, IDRegCode, IDVerifCert, IDRole, IDTemplate,
	IDRegisterCA, IDDeviceCert, IDServerTrust, IDFirstConnect, IDVerify, IDUse}

// ParseID accepts a step ID ("device-cert") or its number in the walkthrough ("9").
func ParseID(v string) (ID, error) {
	for i, id := range documented {
		if string(id) == v || fmt.Sprint(i+1) == v {
			return id, nil
		}
	}
	ids := make([]string, len(documented))
	for i, id := range documented {
		ids[i] = string(id)
	}
	return "", fmt.Errorf("unknown step %q — use a number 1–%d or one of %s", v, len(documented), strings.Join(ids, ", "))
}
