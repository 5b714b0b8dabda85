package diff

import (
	"net/http"
	"testing"
)

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	rules, err := ParseRules([]byte("query:\n  redact: [\"tenant_*\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := newParamRedactor(rules)
	tests := []struct{ in, want string }{
		{"/a?page=2", "/a?page=2"},
		{"/a?token=abc&page=2", "/a?token=[redacted]&page=2"},
		{"/a?page=2&ACCESS_TOKEN=abc#frag", "/a?page=2&ACCESS_TOKEN=[redacted]#frag"},
		{"/a?password=p&api_key=k&X-Amz-Signature=s&client_secret=c&key=k", "/a?password=[redacted]&api_key=[redacted]&X-Amz-Signature=[redacted]&client_secret=[redacted]&key=[redacted]"},
		{"/a?tenant_id=7&monkey=1", "/a?tenant_id=[redacted]&monkey=1"},
		{`Get "http://h/x?sig=abc": dial tcp: refused`, `Get "http://h/x?sig=[redacted]": dial tcp: refused`},
		{"no query here", "no query here"},
		{"/a?token", "/a?token"},
	}
	for _, tt := range tests {
		if got := p.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := RedactURI("/x?access_token=1"); got != "/x?access_token=[redacted]" {
		t.Errorf("RedactURI = %q", got)
	}
}

func TestSamplesHideSecrets(t *testing.T) {
	t.Parallel()
	s := newSampler(nil, nil, 1024)
	req := &Request{Method: "POST", URI: "/login?token=t1&page=1", Header: http.Header{
		"X-Api-Key": {"k1"}, "Authorization": {"Bearer b1"}, "X-Upstream-Token": {"u1"}, "Referer": {"https://x/?api_key=r1"}, "Accept": {"*/*"},
	}, Body: []byte("user=ann&password=p1")}
	got := s.request(req)
	want := map[string]string{"X-Api-Key": Redacted, "Authorization": Redacted, "X-Upstream-Token": Redacted, "Referer": "https://x/?api_key=" + Redacted, "Accept": "*/*"}
	for h, v := range want {
		if got.Header[h][0] != v {
			t.Errorf("header %s = %q, want %q", h, got.Header[h][0], v)
		}
	}
	if got.URI != "/login?token="+Redacted+"&page=1" || got.Body != "user=ann&password="+Redacted {
		t.Errorf("uri %q body %q", got.URI, got.Body)
	}
	for path, v := range map[string]string{"body.headers.X-Api-Key[]": Redacted, "body.password": Redacted, "header.Cookie": Redacted, "body.uri": "/e?token=" + Redacted, "body.price": "3"} {
		in := "3"
		if v != "3" {
			in = "/e?token=zz"
			if v == Redacted {
				in = "zz"
			}
		}
		if got := s.value(path, in); got != v {
			t.Errorf("value(%s, %q) = %q, want %q", path, in, got, v)
		}
	}
}

func TestRedactBody(t *testing.T) {
	t.Parallel()
	s := newSampler(nil, nil, 1<<10)
	tests := []struct{ in, want string }{
		{`{"uri":"/e?page=1\u0026token=t1","headers":{"X-Api-Key":["k1"],"Accept":["*/*"]}}`, `{"headers":{"Accept":["*/*"],"X-Api-Key":"[redacted]"},"uri":"/e?page=1&token=[redacted]"}`},
		{`{"price":3}`, `{"price":3}`},
		{`user=ann&password=p1`, `user=ann&password=[redacted]`},
		{`[{"password":"x"}]`, `[{"password":"[redacted]"}]`},
	}
	for _, tt := range tests {
		if got := s.redactBody(tt.in); got != tt.want {
			t.Errorf("redactBody(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
