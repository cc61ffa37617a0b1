package strictjson

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeepsOrderOffsetsAndDuplicates(t *testing.T) {
	src := "{\n  \"b\": 1,\n  \"a\": [true, null, \"x\"],\n  \"b\": 2.5\n}"
	n, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if n.Kind != Object || strings.Join(n.Keys, ",") != "b,a,b" {
		t.Fatalf("kind %v keys %v", n.Kind, n.Keys)
	}
	if strings.Join(n.Dupes, ",") != "b" {
		t.Errorf("dupes = %v, want [b]", n.Dupes)
	}
	if b := n.Get("b"); b == nil || b.Kind != Number || b.Str != "2.5" {
		t.Errorf("Get(b) = %+v, want the last value 2.5", b)
	}
	a := n.Get("a")
	if a == nil || a.Kind != Array || len(a.Vals) != 3 {
		t.Fatalf("a = %+v", a)
	}
	if a.Vals[0].Kind != Boolean || !a.Vals[0].Bool || a.Vals[1].Kind != Null || a.Vals[2].Str != "x" {
		t.Errorf("array elements = %+v %+v %+v", a.Vals[0], a.Vals[1], a.Vals[2])
	}
	if got := src[a.Vals[2].Off:]; !strings.HasPrefix(got, `"x"`) {
		t.Errorf("offset of \"x\" points at %q", got)
	}
	if line, col := LineCol(src, a.Off); line != 3 || col != 8 {
		t.Errorf("LineCol(a) = %d:%d, want 3:8", line, col)
	}
	if n.Get("missing") != nil || a.Get("b") != nil {
		t.Error("Get on a missing key or a non-object must be nil")
	}
}

func TestParseErrorsCarryOffsets(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2)
	for _, tc := range []struct {
		src, msg string
		off      int
	}{
		{`{"a": 1} x`, "unexpected content after the end", 9},
		{`{"a": }`, "invalid JSON", 6},
		{`{"a": 1`, "unexpected end of input", 7},
		{deep, "nested deeper than 64 levels", -1},
	} {
		_, err := Parse(tc.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.20q) error = %v, want *SyntaxError", tc.src, err)
			continue
		}
		if !strings.Contains(se.Msg, tc.msg) || (tc.off >= 0 && se.Off != tc.off) {
			t.Errorf("Parse(%.20q) = %q at %d, want %q at %d", tc.src, se.Msg, se.Off, tc.msg, tc.off)
		}
	}
}

func TestLineColCountsRunes(t *testing.T) {
	if l, c := LineCol("é\nab", 4); l != 2 || c != 2 {
		t.Errorf("LineCol = %d:%d, want 2:2", l, c)
	}
	if l, c := LineCol("ab", 99); l != 1 || c != 3 {
		t.Errorf("LineCol past the end = %d:%d, want 1:3", l, c)
	}
}

func TestKindNames(t *testing.T) {
	for k, want := range map[Kind]string{Null: "null", String: "a string", Number: "a number", Boolean: "a boolean", Object: "an object", Array: "a list"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}
