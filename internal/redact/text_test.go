package redact

import (
	"strings"
	"testing"
)

// TestText feeds Text the shapes secrets take in transport errors, Azure
// error bodies and connection strings.
func TestText(t *testing.T) {
	const secret = "S3CRET"
	for _, in := range []string{
		"sig=" + secret,
		"SIG=" + secret + "&se=2",
		`Get "https://a.blob.core.windows.net/c/b?sv=1&Sig=` + secret + `%2B%3D": EOF`,
		"https://a/c?x=1&sig=" + secret + "\n",
		"copy source https%3A%2F%2Fa%2Fc%3Fsv%3D1%26sig%3D" + secret + "%26se%3D2",
		"AccountName=a;AccountKey=" + secret + "==;EndpointSuffix=x",
		"accountkey=" + secret,
		"Authorization: Bearer " + secret,
		"authorization: bearer " + secret,
		"Authorization: SharedKey acct:" + secret + "=",
		"Server failed to authenticate the request. The MAC signature found in the HTTP request '" + secret + "=' is not the same as any computed signature.",
		"<AuthenticationErrorDetail>Signature did not match. String to sign used was r\n2025\n/blob/a/c\n. sig=" + secret + "</AuthenticationErrorDetail>",
		"two: sig=" + secret + "&x=1 and AccountKey=" + secret + ";",
	} {
		if got := Text(in); strings.Contains(got, secret) || !strings.Contains(got, Placeholder) {
			t.Errorf("Text(%q) = %q", in, got)
		}
	}
}

func TestTextKeepsHarmlessText(t *testing.T) {
	for _, keep := range []string{"plain error", "signature", "design=1", ""} {
		if got := Text(keep); got != keep {
			t.Errorf("Text(%q) = %q, want unchanged", keep, got)
		}
	}
}
