package i18ntest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func texts(rs []Run) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Text)
	}
	return out
}

func TestEnglishRunsFindsSentences(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"a sentence", "The broker drops the first connection.", []string{"The broker drops the first connection"}},
		{"identifiers do not end a run", "the CA certificate deviceRootCA.pem is not valid", []string{"the certificate is not valid"}},
		{"after Korean", "루트 CA 인증서를 만듭니다. Press enter to continue", []string{"Press enter to continue"}},
		{"between Japanese", "証明書 is not yet active デバイス", []string{"is not yet active"}},
		{"in a box", "│ the registration code is fetched │", []string{"the registration code is fetched"}},
		{"each line apart", "one two\nthree four five", []string{"three four five"}},
		{"punctuation", `(the "first" connect, dropped)`, []string{"the first connect dropped"}},
		{"not a continued command", `│   -t foo/bar -m "Hello from the device" -d │`, []string{"Hello from the device"}},
		{"colored", "\x1b[1;32mthe device has published\x1b[0m", []string{"the device has published"}},
	} {
		got := texts(EnglishRuns(tc.text, Options{}))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: EnglishRuns(%q) = %q, want %q", tc.name, tc.text, got, tc.want)
		}
	}
}

func TestEnglishRunsLeavesCommandsFilesAndIdentifiers(t *testing.T) {
	for _, text := range []string{
		// Korean, Japanese and Chinese with the identifiers that stay English.
		"deviceRootCA.key 파일에 루트 CA 개인 키를 RSA 2048로 만듭니다.",
		"AWS IoT Core がデバイスを JITP でプロビジョニングします（DemoThing, iot:Connect）。",
		"向 AWS IoT Core 注册根 CA：aws iot register-ca-certificate 需要 --allow-auto-registration。",
		"憑證狀態為 PENDING_ACTIVATION，範本缺少參數 ${iot:Certificate.Subject.Country}。",
		// Commands, with a prompt, in a box, continued, in backticks.
		"openssl genrsa -out deviceRootCA.key 2048",
		"$ aws iot get-registration-code --region us-east-1 --output text",
		"│ mosquitto_pub --cafile awsRootCA.pem --cert deviceCertAndCACert.crt \\ │\n│   -t foo/bar -m \"Hello from the device\" -d │",
		"다음 명령으로 확인합니다: `aws iot describe-thing --thing-name DemoThing`",
		"  jitpwiz run --dir ./jitp --yes --lang ko",
		// Help lines and keys: each key is one word between separators.
		"enter 다음 · esc 뒤로 · q 종료",
		// ALL-CAPS and mixed-case names.
		"ACTIVE JITP JITR MQTT TLS SNI_ONLY IoT JITPRole AWSIoTThingsRegistration",
		"",
	} {
		if rs := EnglishRuns(text, Options{}); len(rs) != 0 {
			t.Errorf("EnglishRuns(%q) = %q, want none", text, texts(rs))
		}
	}
}

func TestEnglishRunsOptions(t *testing.T) {
	text := "메시지: Hello from the device 수신"
	if rs := EnglishRuns(text, Options{}); len(rs) != 1 {
		t.Errorf("without Allow: %q", texts(rs))
	}
	if rs := EnglishRuns(text, Options{Allow: []string{"Hello from the device"}}); len(rs) != 0 {
		t.Errorf("with Allow: %q", texts(rs))
	}
	if rs := EnglishRuns("두 단어 the device 입니다", Options{}); len(rs) != 0 {
		t.Errorf("two words are under the default of three: %q", texts(rs))
	}
	if rs := EnglishRuns("두 단어 the device 입니다", Options{MinWords: 2}); len(rs) != 1 || rs[0].Text != "the device" {
		t.Errorf("MinWords 2: %q", texts(rs))
	}
	if rs := EnglishRuns("mytool does many things here", Options{Commands: []string{"mytool"}}); len(rs) != 0 {
		t.Errorf("an extra command: %q", texts(rs))
	}
	rs := EnglishRuns("첫 줄\n둘째 줄 and then some English\n셋째", Options{})
	if len(rs) != 1 || rs[0].Line != 2 {
		t.Errorf("line numbers: %+v", rs)
	}
}

// NoEnglish reports each run with the screen's name and the line.
func TestNoEnglishReports(t *testing.T) {
	rec := &recorder{}
	NoEnglish(rec, "ko/step01", "키\nthe key is made here\n", Options{})
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "ko/step01, line 2") || !strings.Contains(rec.errs[0], "the key is made here") {
		t.Errorf("NoEnglish reported %q", rec.errs)
	}
	rec = &recorder{}
	NoEnglish(rec, "ko/step01", "루트 CA 키를 만듭니다", Options{})
	if len(rec.errs) != 0 {
		t.Errorf("NoEnglish reported Korean: %q", rec.errs)
	}
}

type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, strings.TrimSpace(sprintf(format, args...)))
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
