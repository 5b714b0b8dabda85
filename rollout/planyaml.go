package rollout

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML takes a step written as `25` or `{weight: 25, hold: 10m}`.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	s.line = n.Line
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&s.Weight)
	}
	if err := checkKeys(n, s); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "gates" {
			s.gatesNode = n.Content[i+1]
		}
	}
	type plain Step // without this method, so Decode does not recurse
	return n.Decode((*plain)(s))
}

// checkKeys refuses keys that v (a struct) has no yaml tag for, recursing
// into nested mappings whose field is a struct.
func checkKeys(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" && f.Anonymous {
			for j := range f.Type.NumField() {
				g := f.Type.Field(j)
				gt, _, _ := strings.Cut(g.Tag.Get("yaml"), ",")
				fields[gt] = g.Type
			}
			continue
		}
		if tag != "" && tag != "-" {
			fields[tag] = f.Type
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("plan line %d: unknown key %q", k.Line, k.Value)
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
			if err := checkKeys(val, reflect.New(ft).Interface()); err != nil {
				return err
			}
		}
	}
	return nil
}

// complete fills in defaults and validates; lines maps top-level keys to
// their lines, for errors.
func (p *Plan) complete(lines map[string]int) error {
	at := func(key string) string {
		if l, ok := lines[key]; ok {
			return fmt.Sprintf("plan line %d", l)
		}
		return "plan"
	}
	if strings.TrimSpace(p.Name) == "" {
		return fmt.Errorf("%s: a name is required (it identifies the rollout in the state file)", at("name"))
	}
	if p.Hold == 0 {
		p.Hold = defaultHold
	}
	if p.MinRequests == 0 {
		p.MinRequests = defaultMinRequests
	}
	if p.Interval == 0 {
		p.Interval = defaultInterval
	}
	if p.FalseAlarm == 0 {
		p.FalseAlarm = defaultFalseAlarm
	}
	switch {
	case p.Hold < 0:
		return fmt.Errorf("%s: hold must not be negative", at("hold"))
	case p.MinRequests < 0:
		return fmt.Errorf("%s: min_requests must not be negative", at("min_requests"))
	case p.Interval < 100*time.Millisecond:
		return fmt.Errorf("%s: interval must be at least 100ms", at("interval"))
	case p.FalseAlarm <= 0 || p.FalseAlarm >= 0.5:
		return fmt.Errorf("%s: false_alarm must be in (0, 0.5)", at("false_alarm"))
	}
	if len(p.Steps) == 0 {
		return fmt.Errorf("%s: at least one step is required", at("steps"))
	}
	prev := 0.0
	for i := range p.Steps {
		s := &p.Steps[i]
		where := fmt.Sprintf("plan line %d", s.line)
		switch {
		case s.Weight <= 0 || s.Weight > 100:
			return fmt.Errorf("%s: step weight %g must be over 0 and at most 100", where, s.Weight)
		case s.Weight <= prev:
			return fmt.Errorf("%s: step weights must rise (%g after %g)", where, s.Weight, prev)
		case s.Hold < 0 || s.MinRequests < 0:
			return fmt.Errorf("%s: hold and min_requests must not be negative", where)
		}
		prev = s.Weight
		if s.Hold == 0 {
			s.Hold = p.Hold
		}
		if s.MinRequests == 0 {
			s.MinRequests = p.MinRequests
		}
	}
	if last := p.Steps[len(p.Steps)-1].Weight; last != 100 {
		return fmt.Errorf("%s: the last step must be 100, not %g", at("steps"), last)
	}
	g := &p.Gates
	if g.ErrorRate.MaxRatio == 0 {
		g.ErrorRate.MaxRatio = 1.2
	}
	if g.ErrorRate.MaxRatio < 1 {
		return fmt.Errorf("%s: error_rate.max_ratio must be at least 1", at("gates"))
	}
	d := &g.Differences
	if d.MaxRate == 0 {
		d.MaxRate = 0.01
	}
	if d.MaxEndpointRate == 0 {
		d.MaxEndpointRate = 0.05
	}
	if d.MinCompared == 0 {
		d.MinCompared = 100
	}
	if d.MaxRate < 0 || d.MaxRate >= 1 || d.MaxEndpointRate < 0 || d.MaxEndpointRate >= 1 || d.MinCompared < 0 {
		return fmt.Errorf("%s: differences rates must be in [0, 1) and min_compared not negative", at("gates"))
	}
	if p.Failure.Consecutive == 0 {
		p.Failure.Consecutive = 2
	}
	if p.Failure.Rollback == "" {
		p.Failure.Rollback = "immediate"
	}
	if p.Failure.Consecutive < 1 || (p.Failure.Rollback != "immediate" && p.Failure.Rollback != "steps") {
		return fmt.Errorf("%s: failure.consecutive must be at least 1 and rollback immediate or steps", at("failure"))
	}
	for _, h := range p.Webhooks {
		if err := validWebhook(h); err != nil {
			return fmt.Errorf("%s: %w", at("webhooks"), err)
		}
	}
	if err := p.completePrometheus(); err != nil {
		return err
	}
	return p.completeSteps(at)
}

// yamlErrLine is one of the YAML decoder's type errors, e.g.
// "line 3: cannot unmarshal !!str `ten` into float64".
var yamlErrLine = regexp.MustCompile("^line (\\d+): (.*)$")

// planDecodeError makes a decoding error of the plan rooted at n say where
// and what: "plan line 3: steps[0].weight: cannot unmarshal !!str `ten`
// into float64" (the decoder itself says only "unmarshal errors:", with the
// details on lines of their own that a one-line error drops).
func planDecodeError(n *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return fmt.Errorf("plan: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	m := yamlErrLine.FindStringSubmatch(te.Errors[0])
	if m == nil {
		return fmt.Errorf("plan: %s", te.Errors[0])
	}
	line, _ := strconv.Atoi(m[1])
	msg := strings.NewReplacer("cannot unmarshal !!str ", "cannot read ", "cannot unmarshal ", "cannot read ",
		"into float64", "as a number", "into int", "as a whole number", "into bool", "as true or false",
		"into time.Duration", "as a duration (e.g. 5m)", "into rollout.plain", "as a step", "into string", "as text").Replace(m[2])
	if field := fieldAt(n, line, ""); field != "" {
		return fmt.Errorf("plan line %d: %s: %s", line, field, msg)
	}
	return fmt.Errorf("plan line %d: %s", line, msg)
}

// fieldAt names the field whose value starts at line, e.g. "steps[1].hold".
func fieldAt(n *yaml.Node, line int, path string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if f := fieldAt(c, line, path); f != "" {
				return f
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if v.Kind == yaml.ScalarNode && v.Line == line {
				return p
			}
			if f := fieldAt(v, line, p); f != "" {
				return f
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if c.Kind == yaml.ScalarNode && c.Line == line {
				return p
			}
			if f := fieldAt(c, line, p); f != "" {
				return f
			}
		}
	}
	return ""
}
