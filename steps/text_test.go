package steps

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// abbrev shortens by characters: an ID keeps its first 12, a name in another script is never
// cut inside a rune.
func TestAbbrevKeepsRunesWhole(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	if got := abbrev(id); got != "0123456789ab…" {
		t.Errorf("abbrev(id) = %q", got)
	}
	name := strings.Repeat("장치", 13) // 26 runes, 78 bytes
	got := abbrev(name)
	if !utf8.ValidString(got) || got != strings.Repeat("장치", 6)+"…" {
		t.Errorf("abbrev(%q) = %q", name, got)
	}
	if short := strings.Repeat("장", 20); abbrev(short) != short {
		t.Errorf("a value of 20 characters (60 bytes) was shortened: %q", abbrev(short))
	}
}
