package rollout

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// Statuses of a rollout.
const (
	StatusPending     = "pending"
	StatusProgressing = "progressing"
	StatusPaused      = "paused"
	StatusPromoted    = "promoted"
	StatusRolledBack  = "rolled_back"
	StatusAborted     = "aborted"
	// StatusInterrupted: the controller was stopped (SIGTERM, Ctrl-C)
	// before the rollout ended; `run` again resumes it where it was.
	StatusInterrupted = "interrupted"
)

// Phases of a progressing step.
const (
	PhaseHolding = "holding" // the hold time or request minimum is not reached
	PhaseJudging = "judging" // waiting for every gate to pass
)

// ErrUnknownRollout is returned for a rollout the state file does not hold.
var ErrUnknownRollout = errors.New("unknown rollout")

// terminal reports whether a rollout with this status is over.
func terminal(status string) bool {
	return status == StatusPromoted || status == StatusRolledBack || status == StatusAborted
}

// State is where a rollout stands; the journal keeps the last one.
type State struct {
	Rollout     string       `json:"rollout"`
	Plan        string       `json:"-"` // the plan's YAML, so status needs no plan file
	Status      string       `json:"status"`
	Phase       string       `json:"phase,omitempty"`
	Step        int          `json:"step"` // index into the plan's steps
	Weight      float64      `json:"weight"`
	StepStarted time.Time    `json:"step_started"`
	WindowID    string       `json:"window_id"`
	Failures    int          `json:"consecutive_failures"`
	Looks       int          `json:"looks"`
	Gates       []GateResult `json:"gates"`
	Heartbeat   time.Time    `json:"heartbeat"`
	StateDetail
}

// StateDetail is the part of a State journaled as one JSON column; its
// fields read as the State's own.
type StateDetail struct {
	// Interrupted says what the rollout was doing when its controller was
	// stopped; Status is "interrupted" meanwhile.
	Interrupted *Interruption `json:"interrupted,omitempty"`
	// Missing names the mirrors that did not answer the last look.
	Missing []string `json:"missing_mirrors,omitempty"`
	// DryRunFailed names the dry-run gates that failed in this step.
	DryRunFailed []string `json:"dry_run_failed,omitempty"`
	// Waiting is set once the step's hold is served while a gate still
	// lacks evidence (journaled once per step).
	Waiting bool `json:"waiting_for_evidence,omitempty"`
	// Deadline is when the step's max_duration passes.
	Deadline time.Time `json:"deadline,omitzero"`
	// Baseline is what legacy served in the last step passed, for a step
	// where legacy serves nothing and no shadow copy is compared.
	Baseline *Served `json:"legacy_baseline,omitempty"`
}

// Interruption is a stopped controller's last word.
type Interruption struct {
	Time   time.Time `json:"time"`
	Status string    `json:"status"` // what the rollout was: progressing, paused
	Phase  string    `json:"phase,omitempty"`
	Reason string    `json:"reason"`
}

// MarshalJSON counts steps from 1, as people, the text and webhooks do.
func (st State) MarshalJSON() ([]byte, error) {
	type plain State
	return json.Marshal(struct {
		plain
		Step int `json:"step"`
	}{plain(st), st.Step + 1})
}

// MarshalJSON counts steps from 1.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		Step int `json:"step"`
	}{plain(e), e.Step + 1})
}

// Event is one journaled transition or decision.
type Event struct {
	ID      int64        `json:"id"`
	Time    time.Time    `json:"time"`
	Kind    string       `json:"kind"`
	Status  string       `json:"status"`
	Step    int          `json:"step"`
	Weight  float64      `json:"weight"`
	Reason  string       `json:"reason"`
	Actor   string       `json:"actor"`
	Gates   []GateResult `json:"gates,omitempty"`
	Rollout string       `json:"rollout"`
}

// Command is an operator's request, queued in the state file for the
// controller (or applied at once when no controller runs).
type Command struct {
	ID      int64
	Rollout string
	Time    time.Time
	Kind    string // pause, resume, promote, abort, set-weight
	Weight  float64
	Full    bool
	Reason  string
	Actor   string
}

// Journal is the state file: SQLite, so that status and history are exact
// after any crash, and operators in other terminals share it.
type Journal struct {
	db   *sql.DB
	Path string
}

const schema = `
CREATE TABLE IF NOT EXISTS rollouts (
  name TEXT PRIMARY KEY, plan TEXT NOT NULL, status TEXT NOT NULL, phase TEXT NOT NULL,
  step INTEGER NOT NULL, weight REAL NOT NULL, step_started INTEGER NOT NULL, window_id TEXT NOT NULL,
  failures INTEGER NOT NULL, looks INTEGER NOT NULL, gates TEXT NOT NULL, heartbeat INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, rollout TEXT NOT NULL, time INTEGER NOT NULL, kind TEXT NOT NULL,
  status TEXT NOT NULL, step INTEGER NOT NULL, weight REAL NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, gates TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
  id INTEGER PRIMARY KEY AUTOINCREMENT, rollout TEXT NOT NULL, time INTEGER NOT NULL, kind TEXT NOT NULL,
  weight REAL NOT NULL, full INTEGER NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, applied INTEGER NOT NULL DEFAULT 0);
`

// OpenJournal opens (creating if need be) the state file at path.
func OpenJournal(ctx context.Context, path string) (*Journal, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return &Journal{db: db, Path: path}, nil
}

// Close closes the state file.
func (j *Journal) Close() error { return j.db.Close() }

// Names lists the rollouts in the state file, oldest first.
func (j *Journal) Names(ctx context.Context) ([]string, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT name FROM rollouts ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Load returns the state of a rollout, or ErrUnknownRollout.
func (j *Journal) Load(ctx context.Context, name string) (*State, error) {
	var st State
	var stepStarted, heartbeat int64
	var gates string
	var extra string
	err := j.db.QueryRowContext(ctx, `SELECT name, plan, status, phase, step, weight, step_started, window_id, failures, looks, gates, heartbeat, extra
		FROM rollouts WHERE name = ?`, name).Scan(&st.Rollout, &st.Plan, &st.Status, &st.Phase, &st.Step, &st.Weight,
		&stepStarted, &st.WindowID, &st.Failures, &st.Looks, &gates, &heartbeat, &extra)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w %q", ErrUnknownRollout, name)
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	st.StepStarted, st.Heartbeat = fromNanos(stepStarted), fromNanos(heartbeat)
	if err := json.Unmarshal([]byte(gates), &st.Gates); err != nil {
		return nil, fmt.Errorf("state: gates of %q: %w", name, err)
	}
	if err := json.Unmarshal([]byte(extra), &st.StateDetail); err != nil {
		return nil, fmt.Errorf("state: %q: %w", name, err)
	}
	return &st, nil
}

// Save writes st, journals events and marks commands applied, all in one
// transaction: a crash leaves either all of it or none.
func (j *Journal) Save(ctx context.Context, st *State, events []Event, applied []int64) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer tx.Rollback()
	gates, _ := json.Marshal(orEmpty(st.Gates))
	extra, _ := json.Marshal(st.StateDetail)
	_, err = tx.ExecContext(ctx, `INSERT INTO rollouts (name, plan, status, phase, step, weight, step_started, window_id, failures, looks, gates, heartbeat, extra)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET plan=excluded.plan, status=excluded.status, phase=excluded.phase, step=excluded.step,
		weight=excluded.weight, step_started=excluded.step_started, window_id=excluded.window_id, failures=excluded.failures,
		looks=excluded.looks, gates=excluded.gates, heartbeat=excluded.heartbeat, extra=excluded.extra`,
		st.Rollout, st.Plan, st.Status, st.Phase, st.Step, st.Weight, nanos(st.StepStarted), st.WindowID, st.Failures, st.Looks, string(gates), nanos(st.Heartbeat), string(extra))
	if err != nil {
		return fmt.Errorf("state: save %q: %w", st.Rollout, err)
	}
	for _, e := range events {
		eg, _ := json.Marshal(orEmpty(e.Gates))
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (rollout, time, kind, status, step, weight, reason, actor, gates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.Rollout, nanos(e.Time), e.Kind, e.Status, e.Step, e.Weight, e.Reason, e.Actor, string(eg)); err != nil {
			return fmt.Errorf("state: journal %q: %w", st.Rollout, err)
		}
	}
	for _, id := range applied {
		if _, err := tx.ExecContext(ctx, `UPDATE commands SET applied = 1 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("state: command %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state: save %q: %w", st.Rollout, err)
	}
	return nil
}

// Delete removes a rollout and its journal (for a fresh start).
func (j *Journal) Delete(ctx context.Context, name string) error {
	for _, q := range []string{`DELETE FROM rollouts WHERE name = ?`, `DELETE FROM events WHERE rollout = ?`, `DELETE FROM commands WHERE rollout = ?`, `DELETE FROM plans WHERE rollout = ?`} {
		if _, err := j.db.ExecContext(ctx, q, name); err != nil {
			return fmt.Errorf("state: delete %q: %w", name, err)
		}
	}
	return nil
}

// History returns a rollout's journal, oldest first.
func (j *Journal) History(ctx context.Context, name string) ([]Event, error) {
	if _, err := j.Load(ctx, name); err != nil {
		return nil, err
	}
	rows, err := j.db.QueryContext(ctx, `SELECT id, time, kind, status, step, weight, reason, actor, gates FROM events WHERE rollout = ? ORDER BY id`, name)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t int64
		var gates string
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Status, &e.Step, &e.Weight, &e.Reason, &e.Actor, &gates); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		e.Time, e.Rollout = fromNanos(t), name
		if err := json.Unmarshal([]byte(gates), &e.Gates); err != nil {
			return nil, fmt.Errorf("state: event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Enqueue queues an operator command.
func (j *Journal) Enqueue(ctx context.Context, c Command) error {
	if _, err := j.Load(ctx, c.Rollout); err != nil {
		return err
	}
	full := 0
	if c.Full {
		full = 1
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO commands (rollout, time, kind, weight, full, reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.Rollout, nanos(c.Time), c.Kind, c.Weight, full, c.Reason, c.Actor)
	if err != nil {
		return fmt.Errorf("state: queue %s: %w", c.Kind, err)
	}
	return nil
}

// Pending returns the commands not applied yet, in order.
func (j *Journal) Pending(ctx context.Context, name string) ([]Command, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT id, time, kind, weight, full, reason, actor FROM commands WHERE rollout = ? AND applied = 0 ORDER BY id`, name)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer rows.Close()
	var out []Command
	for rows.Next() {
		c := Command{Rollout: name}
		var t int64
		var full int
		if err := rows.Scan(&c.ID, &t, &c.Kind, &c.Weight, &full, &c.Reason, &c.Actor); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		c.Time, c.Full = fromNanos(t), full == 1
		out = append(out, c)
	}
	return out, rows.Err()
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func orEmpty(g []GateResult) []GateResult {
	if g == nil {
		return []GateResult{}
	}
	return g
}
