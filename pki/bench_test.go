package pki

import "testing"

func BenchmarkGenerateKey(b *testing.B) {
	for _, kt := range []KeyType{RSA2048, EC256} {
		b.Run(string(kt), func(b *testing.B) {
			for b.Loop() {
				if _, err := GenerateKey(kt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIssueCert measures CSR signing by a CA of the same key type (the CA's work for
// one device certificate).
func BenchmarkIssueCert(b *testing.B) {
	for _, kt := range []KeyType{RSA2048, EC256} {
		b.Run(string(kt), func(b *testing.B) {
			ca := testCA(b, kt)
			k, err := GenerateKey(kt)
			if err != nil {
				b.Fatal(err)
			}
			csr, err := NewCSR(k, Subject{Country: "IN", CommonName: "DemoThing"})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := IssueCert(ca.Cert, ca.Key, csr, DeviceDays); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSelfSignCA(b *testing.B) {
	for _, kt := range []KeyType{RSA2048, EC256} {
		b.Run(string(kt), func(b *testing.B) {
			k, err := GenerateKey(kt)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := SelfSignCA(k, Subject{Country: "IN", Organization: "AMZ"}, CADays); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
