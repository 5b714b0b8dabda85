package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/rollout"
)

func TestReportShowsTheRolloutTimeline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "cutover.db")
	j, err := rollout.OpenJournal(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	st := &rollout.State{Rollout: "canary", Plan: longStepPlan, Status: rollout.StatusRolledBack}
	failed := []rollout.GateResult{{Gate: "error_rate", Verdict: rollout.GateFail, Reason: "candidate 3% errors",
		Figures: map[string]float64{"candidate_rate": 0.03, "legacy_rate": 0.001, "max_ratio": 1.2}}}
	events := []rollout.Event{
		{Time: at, Kind: "started", Weight: 0, Reason: "plan of 3 steps"},
		{Time: at, Kind: "step", Weight: 10, Reason: "first step"},
		{Time: at.Add(5 * time.Minute), Kind: "rolled_back", Weight: 0, Reason: "error_rate gate failed", Gates: failed},
	}
	if err := j.Save(context.Background(), st, events, nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	out := filepath.Join(dir, "report.html")
	code, _, stderr := runCLI(t, "report", "--in", "../../reports/testdata/injected.summary.json", "--state", state, "--format", "html", "-o", out)
	if code == 2 {
		t.Fatalf("report: %s", stderr)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="timeline"`, `class="rollback"`, "error_rate gate failed", "candidate 3% vs legacy 0.1%"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
