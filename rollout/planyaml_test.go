package rollout

import (
	"strings"
	"testing"
)

// Type errors name the line and the field, on one line.
func TestPlanTypeErrorsNameLineAndField(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, want string }{
		{"weight not a number", "name: x\nsteps:\n  - weight: ten\n    hold: 5m\n", "plan line 3: steps[0].weight: cannot read `ten` as a number"},
		{"step hold not a duration", "name: x\nsteps:\n  - 10\n  - weight: 50\n    hold: later\n", "plan line 5: steps[1].hold: cannot read `later` as a duration"},
		{"interval not a duration", "name: x\nsteps: [10, 100]\ninterval: soon\n", "plan line 3: interval: cannot read `soon` as a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePlan([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParsePlan = %v, want one line containing %q", err, tt.want)
			}
		})
	}
}
