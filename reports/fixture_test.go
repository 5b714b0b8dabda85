package reports

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
)

// fixtureConfig shapes a synthetic run through the real aggregator: the
// default comparer and endpoint naming, so the summary is what a replay
// with injected differences produces.
type fixtureConfig struct {
	exchanges int // per busy endpoint kind
	endpoints int // distinct /api/v{n}/... families; 1 for the small fixture
	xss       bool
	// big makes every item answer carry a 3 KB description that differs
	// on the candidate: samples at their size cap, the report's worst case.
	big bool
}

// fixtureSummary injects, on the candidate: a changed price in one item
// answer of ten, a dropped Cache-Control header on users, a 500 on one
// order of twenty, a 30% slower search, transport failures; the secondary
// makes the request id and date noise. Times are fixed: equal inputs give
// equal bytes.
func fixtureSummary(cfg fixtureConfig) diff.Summary {
	a := diff.NewAggregator(diff.AggregatorConfig{Seed: 7})
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	for fam := range max(cfg.endpoints, 1) {
		prefix := "/api"
		if cfg.endpoints > 1 {
			prefix = fmt.Sprintf("/api/v%d", fam)
		}
		for i := range cfg.exchanges {
			at := start.Add(time.Duration(n) * 10 * time.Millisecond)
			n++
			ex := itemExchange(at, prefix, i, cfg.xss)
			if cfg.big {
				bloat(ex, i)
			}
			a.Add(ex)
			a.Add(userExchange(at, prefix, i))
			a.Add(orderExchange(at, prefix, i))
			a.Add(searchExchange(at, prefix, i, cfg.xss))
		}
	}
	if cfg.xss {
		// An endpoint name that is markup, in every format.
		ok := answer(200, `{}`, 3)
		a.Add(&diff.Exchange{Time: start, Request: diff.Request{Method: "GET", URI: "/p/" + xssBody + "|*x*`y`"},
			Legacy: ok, Secondary: ok, Candidate: answer(404, `{}`, 3)})
	}
	for range 3 {
		a.Skip("GET /api/items/{id}", "unsafe_method")
	}
	return a.Summary("replay")
}

// xssBody is what the XSS fixture puts in bodies, a URI and a header.
const xssBody = `<script>alert(1)</script>`

func answer(status int, body string, ms float64, hdr ...string) *diff.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	d := time.Duration(ms * float64(time.Millisecond))
	return &diff.Response{Status: status, Proto: "HTTP/1.1", Header: h, Body: []byte(body), Total: d, TTFB: d / 2}
}

func itemExchange(at time.Time, prefix string, i int, xss bool) *diff.Exchange {
	id := 100 + i%50
	body := func(name, price string) string {
		return fmt.Sprintf(`{"id":%d,"name":%q,"price":%s,"tags":["kitchen","gift"],"stock":{"warehouse":"north","count":12}}`, id, name, price)
	}
	ms := 8 + float64(i%9)
	cName, cPrice := "Blue mug", "12.5"
	if i%10 == 3 {
		cPrice = "12.50001"
	}
	req := diff.Request{Method: "GET", URI: fmt.Sprintf("%s/items/%d?currency=EUR", prefix, id), Host: "shop.example",
		Header: http.Header{"Authorization": {"Bearer s3cr3t"}, "Accept": {"application/json"}}}
	if xss {
		// Traffic that is markup: a report must show it, never run it.
		cName = xssBody
		req.URI += "&q=" + xssBody
		req.Header.Set("X-Note", xssBody)
	}
	return &diff.Exchange{
		Time: at, Request: req,
		Legacy:    answer(200, body("Blue mug", "12.5"), ms, "X-Request-Id", fmt.Sprintf("L%d", i)),
		Secondary: answer(200, body("Blue mug", "12.5"), ms, "X-Request-Id", fmt.Sprintf("S%d", i)),
		Candidate: answer(200, body(cName, cPrice), ms, "X-Request-Id", fmt.Sprintf("C%d", i)),
	}
}

// bloat adds a long description to every side, changed on the candidate.
func bloat(ex *diff.Exchange, i int) {
	desc := strings.Repeat("lorem ipsum dolor sit amet ", 120)
	for _, r := range []*diff.Response{ex.Legacy, ex.Secondary, ex.Candidate} {
		d := desc
		if r == ex.Candidate {
			d = fmt.Sprintf("%s rev %d", desc, i)
		}
		r.Body = append(r.Body[:len(r.Body)-1], fmt.Sprintf(`,"description":%q}`, d)...)
	}
}

func userExchange(at time.Time, prefix string, i int) *diff.Exchange {
	body := fmt.Sprintf(`{"id":%d,"name":"Ada","roles":["admin"]}`, i%20)
	req := diff.Request{Method: "GET", URI: fmt.Sprintf("%s/users/%d", prefix, i%20), Host: "shop.example",
		Header: http.Header{"Cookie": {"session=abc"}}}
	return &diff.Exchange{Time: at, Request: req,
		Legacy:    answer(200, body, 5, "Cache-Control", "private, max-age=60"),
		Secondary: answer(200, body, 5, "Cache-Control", "private, max-age=60"),
		Candidate: answer(200, body, 5),
	}
}

func orderExchange(at time.Time, prefix string, i int) *diff.Exchange {
	req := diff.Request{Method: "POST", URI: prefix + "/orders", Host: "shop.example", Body: []byte(`{"sku":"MUG-1","qty":2}`)}
	ok := answer(201, `{"order":"o-1","status":"created"}`, 20)
	c := ok
	switch i % 20 {
	case 7:
		c = answer(500, `{"error":"upstream timed out"}`, 20)
	case 13:
		c = &diff.Response{Err: "read: connection reset by peer"}
	}
	return &diff.Exchange{Time: at, Request: req, Legacy: ok, Secondary: ok, Candidate: c}
}

func searchExchange(at time.Time, prefix string, i int, xss bool) *diff.Exchange {
	ms := 30 + float64(i%11)
	body := `{"q":"mug","hits":3}`
	req := diff.Request{Method: "GET", URI: prefix + "/search?q=mug", Host: "shop.example"}
	l, c := answer(200, body, ms), answer(200, body, ms*1.3)
	if xss {
		// A whole text body that differs: the sample holds it as it is.
		l = answer(200, "<p>3 hits</p>\n", ms, "Content-Type", "text/html")
		c = answer(200, "<p>3 hits</p>"+xssBody+"\n", ms*1.3, "Content-Type", "text/html")
	}
	s := *l
	return &diff.Exchange{Time: at, Request: req, Legacy: l, Secondary: &s, Candidate: c}
}
