package diff

import (
	"net/http"
	"testing"
)

func TestWindowStartsWithTheNoiseLearned(t *testing.T) {
	t.Parallel()
	answer := func(id string) *Response {
		return &Response{Status: 200, Header: http.Header{"X-Request-Id": {id}, "Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`)}
	}
	req := Request{Method: "GET", URI: "/api/items/1"}
	a := NewAggregator(AggregatorConfig{})
	for i := range 50 {
		a.AddNoiseSample(req, answer("l"+string(rune('a'+i%26))), answer("m"+string(rune('a'+i%26))))
	}
	w := a.Window()
	for i := range 20 {
		w.Add(&Exchange{Request: req, Legacy: answer("x" + string(rune('a'+i))), Candidate: answer("y" + string(rune('a'+i)))})
	}
	c, _ := w.Counts()
	if c.Requests != 20 || c.Compared != 20 || c.Different != 0 {
		t.Errorf("window counts %+v: want 20 compared and none different (request ids are known noise)", c)
	}
	if ac, _ := a.Counts(); ac.Requests != 0 {
		t.Errorf("the window's exchanges leaked into the parent: %+v", ac)
	}
	fresh := NewAggregator(AggregatorConfig{})
	fresh.Add(&Exchange{Request: req, Legacy: answer("p"), Candidate: answer("q")})
	if c, _ := fresh.Counts(); c.Different != 1 {
		t.Errorf("without learned noise the id difference should count: %+v", c)
	}
}
