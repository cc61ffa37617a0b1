package store

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkUpdate measures one transaction (clone, change, encode, atomic write with
// fsync) on a state holding 500 things and a full event log.
func BenchmarkUpdate(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), DirName), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	_ = s.Update(func(st *State) error {
		for i := 0; i < 500; i++ {
			if _, err := st.CreateThing(fmt.Sprintf("thing-%d", i), "", map[string]string{"version": "v1"}); err != nil {
				return err
			}
		}
		for i := 0; i < MaxEvents; i++ {
			st.AddEvent(Event{Kind: EventProvisioned, CertID: fmt.Sprint(i), Message: "JITP provisioned certificate ...",
				Params: map[string]string{"AWS::IoT::Certificate::CommonName": "thing", "AWS::IoT::Certificate::Id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}})
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Update(func(st *State) error {
			st.AddEvent(Event{Kind: "bench", Message: "x"})
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
