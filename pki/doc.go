// Package pki creates and reads the keys, CSRs and certificates of the AWS IoT JITP
// walkthrough: the root CA (deviceRootCA.*), the verification certificate and the device
// certificate. Everything it writes is readable by OpenSSL 3, and everything the
// walkthrough's openssl commands write is readable here (tests run both directions with
// the real openssl). For every operation it also gives the equivalent openssl command line
// with the user's file names and values (GenKeyCommand, CACSRCommand, SignCommand, ...).
//
// Layers, lowest first:
//   - keys.go: KeyType, GenerateKey, EncodeKeyPEM (PKCS#8), ParseKeyPEM (PKCS#8/PKCS#1/SEC1).
//   - certs.go: Subject, NewCSR/NewCACSR, SelfSignCA, IssueCert, IssueIntermediateCA,
//     PEM parsing, CertID, JITPParameters.
//   - ca.go, verify.go: LoadCA and the checks behind it; CheckIssuedBy, CheckVerificationCert.
//   - validate.go: user input (country, thing name, days, registration code, organization).
//   - conf.go, commands.go: deviceRootCA_openssl.conf and the openssl command lines.
//   - files.go, flows.go: safe writes and one function per walkthrough step.
//
// Decisions worth knowing:
//   - Private keys are written 0600 and everything else 0644, atomically (temp file, fsync,
//     rename, directory fsync). Without Overwrite an existing file is never replaced (the
//     final step is a hard link, so even a racing writer cannot be clobbered), and the
//     flows check every target before writing any.
//   - EnsureWorkspace creates the directory 0700 and, if it already exists with group or
//     other permissions, tightens it to 0700: it holds private keys.
//   - All signatures use SHA-256 (the walkthrough's -sha256), also for P-384 keys.
//   - Subjects are encoded as OpenSSL 3 encodes the same -subj (C, dnQualifier and
//     serialNumber as PrintableString, the rest UTF8String, one attribute per RDN), so a
//     pki CSR and an openssl CSR for the same subject have identical DN bytes.
//   - IssueCert does not copy CSR extensions (neither does openssl x509 -req); leaves get
//     CA:FALSE, digitalSignature (+keyEncipherment for RSA), clientAuth, SKI and AKI.
//   - JITPParameters: SerialNumber is the subject serialNumber attribute when present, else
//     the certificate serial in lowercase hex — AWS provides SerialNumber even for CN-only
//     subjects; which value it carries is unconfirmed (jitp-spec §3.4). Repeated
//     attributes: the first value wins, as for AWS IoT policy variables.
//   - The CA CSR command adds -batch (the walkthrough answers openssl's prompts by hand; the
//     conf's defaults are the user's country and organization) and -utf8 for non-ASCII values.
//   - Encrypted private keys are refused with ErrEncryptedKey and the openssl command to
//     decrypt a copy; keys are never printed or logged (errors name the file, not the key).
package pki
