package steps

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// Chinese and Japanese wrap by display width between characters, where UAX #14 allows a
// break: no space is added, no line starts with closing punctuation, and no line is wider
// than the width; Korean and English break at spaces only.
func TestWrapCJK(t *testing.T) {
	for _, tc := range []struct {
		text  string
		width int
	}{
		{"ルート CA 証明書をステップ 8 で AWS IoT に登録しました。次のステップでは、デバイス証明書を発行します（有効期限は 365 日）。", 24},
		{"设备首次连接时，AWS IoT 会根据预置模板创建事物、附加策略并激活证书。请先运行此步骤。", 18},
		{"裝置首次連線時，AWS IoT 會依佈建範本建立物件、連接政策並啟用憑證。", 15},
	} {
		for _, w := range []int{tc.width, tc.width + 7, 40} {
			got := wrapWords(tc.text, w)
			lines := strings.Split(got, "\n")
			if len(lines) < 2 {
				t.Fatalf("width %d: not wrapped: %q", w, got)
			}
			for _, l := range lines {
				if ansi.StringWidth(l) > w {
					t.Errorf("width %d: line %q is %d wide", w, l, ansi.StringWidth(l))
				}
				if strings.ContainsAny(l[:len(string([]rune(l)[0]))], "。、，）」；：") {
					t.Errorf("width %d: a line starts with closing punctuation: %q", w, l)
				}
			}
			// no space added or lost: the lines joined back (a space where the text had one)
			if back := joinLines(got); back != tc.text {
				t.Errorf("width %d: joined back\n got %q\nwant %q", w, back, tc.text)
			}
			if back := strings.Join(lines, ""); strings.Count(back, " ") > strings.Count(tc.text, " ") ||
				strings.ReplaceAll(back, " ", "") != strings.ReplaceAll(tc.text, " ", "") {
				t.Errorf("width %d: spaces added: %q", w, got)
			}
		}
	}
	// reflow joins a paragraph's lines without a space between Chinese or Japanese characters
	if got := reflow("証明書を\n発行します。 Then\nnext", 5); got != "証明書を発行します。 Then next" {
		t.Errorf("reflow: %q", got)
	}
	// Korean and English break at spaces only
	if got := wrapWords("인증서를 발급합니다 Just-in-Time provisioning", 12); got != "인증서를\n발급합니다\nJust-in-Time\nprovisioning" {
		t.Errorf("Korean/English: %q", got)
	}
	// a result line hangs its continuation and breaks Japanese between characters
	got := hang("✓ デバイス証明書を発行し、ルート CA で署名しました", 20)
	for _, l := range strings.Split(got, "\n") {
		if ansi.StringWidth(l) > 20 {
			t.Errorf("hang: %q too wide in %q", l, got)
		}
	}
	if !strings.HasPrefix(strings.Split(got, "\n")[1], "    ") {
		t.Errorf("hang: continuation not indented: %q", got)
	}
}
