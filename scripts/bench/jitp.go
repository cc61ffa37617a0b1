package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/jitpwiz/jitpwiz/pki"
)

//go:embed jitp_template.json
var templateJSON []byte

// core is a running local IoT Core as its banner describes it.
type core struct {
	endpoint string // control plane URL
	host     string // MQTT host
	port     int
	serverCA []byte // PEM of the CA that signs the broker's certificate
}

func (c core) iot() *iot.Client {
	cfg := sdkaws.Config{Region: "us-east-2", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", ""), RetryMaxAttempts: 1}
	return iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = &c.endpoint })
}

func (c core) iam() *iam.Client {
	cfg := sdkaws.Config{Region: "us-east-2", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", ""), RetryMaxAttempts: 1}
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = &c.endpoint })
}

// fleetCA is a CA registered for JITP with the walkthrough's scoped template.
type fleetCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// registerFleetCA makes an EC P-256 CA (fast to sign with) with organization org and
// registers it as the walkthrough does: registration code, verification certificate,
// JITPRole, RegisterCACertificate --set-as-active --allow-auto-registration.
func registerFleetCA(ctx context.Context, c core, org string) (*fleetCA, error) {
	key, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		return nil, err
	}
	ca, err := pki.SelfSignCA(key, pki.Subject{Country: "IN", Organization: org}, 3650)
	if err != nil {
		return nil, err
	}
	ic, ac := c.iot(), c.iam()
	code, err := ic.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})
	if err != nil {
		return nil, fmt.Errorf("GetRegistrationCode: %w", err)
	}
	vkey, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		return nil, err
	}
	csr, err := pki.NewCSR(vkey, pki.Subject{CommonName: *code.RegistrationCode})
	if err != nil {
		return nil, err
	}
	verif, err := pki.IssueCert(ca, key, csr, 500)
	if err != nil {
		return nil, err
	}
	if _, err := ac.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String("JITPRole")}); err != nil {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		if _, err := ac.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("JITPRole"), AssumeRolePolicyDocument: &trust}); err != nil {
			return nil, fmt.Errorf("CreateRole: %w", err)
		}
		// Provisioning needs the role's permissions, not only its trust (as on AWS).
		if _, err := ac.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: sdkaws.String("JITPRole"),
			PolicyArn: sdkaws.String("arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")}); err != nil {
			return nil, fmt.Errorf("AttachRolePolicy: %w", err)
		}
	}
	var rc struct {
		TemplateBody string `json:"templateBody"`
		RoleArn      string `json:"roleArn"`
	}
	if err := jsonUnmarshal(templateJSON, &rc); err != nil {
		return nil, err
	}
	_, err = ic.RegisterCACertificate(ctx, &iot.RegisterCACertificateInput{
		CaCertificate:           sdkaws.String(string(pki.EncodeCertPEM(ca))),
		VerificationCertificate: sdkaws.String(string(pki.EncodeCertPEM(verif))),
		SetAsActive:             true, AllowAutoRegistration: true,
		RegistrationConfig: &types.RegistrationConfig{TemplateBody: &rc.TemplateBody, RoleArn: &rc.RoleArn},
	})
	if err != nil {
		return nil, fmt.Errorf("RegisterCACertificate: %w", err)
	}
	return &fleetCA{cert: ca, key: key}, nil
}

// device is one device's certificate (with and without the CA in the chain) for a
// shared device key: the broker's work per device (verifying the client's signature,
// JITP) does not depend on whether keys are shared, and making 10,000 RSA keys would
// take minutes.
type device struct {
	thing        string
	bundle, leaf tls.Certificate
}

func issueDevices(ca *fleetCA, keyType pki.KeyType, prefix string, n int) ([]device, error) {
	key, err := pki.GenerateKey(keyType)
	if err != nil {
		return nil, err
	}
	out := make([]device, n)
	for i := range out {
		name := fmt.Sprintf("%s-%05d", prefix, i)
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{Country: []string{"IN"}, CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
		if err != nil {
			return nil, err
		}
		out[i] = device{thing: name,
			bundle: tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key},
			leaf:   tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
	}
	return out, nil
}

// mqttConnect is an MQTT 3.1.1 CONNECT with a clean session and keepalive 60 s.
func mqttConnect(clientID string) []byte {
	vh := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, byte(len(clientID) >> 8), byte(len(clientID))}
	body := append(vh, clientID...)
	return append([]byte{0x10, byte(len(body))}, body...) // client IDs here are < 116 bytes
}

// connectOnce connects with cert, sends CONNECT and returns the CONNACK return code,
// or -1 when the broker closed the connection without one (the first-connect drop).
func connectOnce(c core, roots *x509.CertPool, cert tls.Certificate, clientID string) (int, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort(c.host, fmt.Sprint(c.port)), &tls.Config{
		ServerName: c.host, RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.Write(mqttConnect(clientID)); err != nil {
		return 0, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "reset") {
			return -1, nil
		}
		return 0, err
	}
	if ack[0] != 0x20 {
		return 0, fmt.Errorf("not a CONNACK: % x", ack)
	}
	_, _ = conn.Write([]byte{0xe0, 0}) // DISCONNECT
	return int(ack[3]), nil
}

// jitpResult is one JITP run: when each device finished (first connect dropped,
// reconnect as the thing accepted), in completion order.
type jitpResult struct {
	done     []time.Duration // since the start, sorted
	failures map[string]int
	total    time.Duration
}

// provision runs first connect → drop → reconnect as the thing for every device,
// conc at a time. mark, when set, is called with the number of devices provisioned so far
// each time one more is (under the result's lock: keep it short).
func provision(c core, devs []device, conc int, mark func(done int)) jitpResult {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.serverCA)
	res := jitpResult{failures: map[string]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(devs) {
					return
				}
				d := devs[i]
				why := ""
				if rc, err := connectOnce(c, roots, d.bundle, "first-"+d.thing); err != nil {
					why = "first connect: " + err.Error()
				} else if rc != -1 {
					why = fmt.Sprintf("first connect: CONNACK %d instead of the JITP drop", rc)
				} else if rc, err := connectOnce(c, roots, d.leaf, d.thing); err != nil {
					why = "reconnect: " + err.Error()
				} else if rc == -1 {
					why = "reconnect as the thing: closed without CONNACK"
				} else if rc != 0 {
					why = fmt.Sprintf("reconnect as the thing: CONNACK %d", rc)
				}
				mu.Lock()
				if why != "" {
					res.failures[why]++
				} else {
					res.done = append(res.done, time.Since(start))
					if mark != nil {
						mark(len(res.done))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.total = time.Since(start)
	sort.Slice(res.done, func(i, j int) bool { return res.done[i] < res.done[j] })
	return res
}

// windowRate is provisionings/s over the completions [from, to).
func (r jitpResult) windowRate(from, to int) float64 {
	if to > len(r.done) || from >= to {
		return 0
	}
	var t0 time.Duration
	if from > 0 {
		t0 = r.done[from-1]
	}
	return float64(to-from) / (r.done[to-1] - t0).Seconds()
}

func (r jitpResult) rate() float64 { return float64(len(r.done)) / r.total.Seconds() }

// handshakeRate is a bare Go mutual-TLS handshake loop on loopback: a server with an EC
// P-256 certificate (as the broker's) requiring a client certificate, clients with a
// certificate of keyType; n handshakes, conc at a time. It returns handshakes/s.
func handshakeRate(keyType pki.KeyType, n, conc int) (float64, error) {
	ca := &fleetCA{}
	var err error
	if ca.key, err = pki.GenerateKey(pki.EC256); err != nil {
		return 0, err
	}
	if ca.cert, err = pki.SelfSignCA(ca.key, pki.Subject{Country: "IN", Organization: "Bench"}, 10); err != nil {
		return 0, err
	}
	devs, err := issueDevices(ca, keyType, "hs", 1)
	if err != nil {
		return 0, err
	}
	skey, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		return 0, err
	}
	stmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	sder, err := x509.CreateCertificate(rand.Reader, stmpl, ca.cert, skey.Public(), ca.key)
	if err != nil {
		return 0, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{sder}, PrivateKey: skey}},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = conn.(*tls.Conn).Handshake()
				conn.Close()
			}()
		}
	}()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "localhost", RootCAs: pool, Certificates: []tls.Certificate{devs[0].bundle}})
				if err != nil {
					failed.Add(1)
					continue
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d handshakes failed", f, n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
