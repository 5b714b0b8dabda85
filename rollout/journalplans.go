package rollout

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// migrate brings a state file written by an earlier version up to date.
func migrate(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('rollouts') WHERE name = 'extra'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		// Another process opening the same new file may add it first
		// (SQLite has no ADD COLUMN IF NOT EXISTS): that is success too.
		if _, err := db.ExecContext(ctx, `ALTER TABLE rollouts ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'`); err != nil &&
			!strings.Contains(err.Error(), "duplicate column name") {
			return err
		}
	}
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS plans (
  id INTEGER PRIMARY KEY AUTOINCREMENT, rollout TEXT NOT NULL, time INTEGER NOT NULL, plan TEXT NOT NULL, actor TEXT NOT NULL)`)
	return err
}

// PlanVersion is one plan a rollout ran under.
type PlanVersion struct {
	Time  time.Time `json:"time"`
	Plan  string    `json:"plan"`
	Actor string    `json:"actor"`
}

// savePlan keeps the plan a rollout runs under from now on.
func (j *Journal) savePlan(ctx context.Context, name, plan, actor string, at time.Time) error {
	if _, err := j.db.ExecContext(ctx, `INSERT INTO plans (rollout, time, plan, actor) VALUES (?, ?, ?, ?)`, name, nanos(at), plan, actor); err != nil {
		return fmt.Errorf("state: plan of %q: %w", name, err)
	}
	return nil
}

// Plans returns the plans a rollout ran under, oldest first (the first is
// the one it started with, when it started under this version).
func (j *Journal) Plans(ctx context.Context, name string) ([]PlanVersion, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT time, plan, actor FROM plans WHERE rollout = ? ORDER BY id`, name)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer rows.Close()
	var out []PlanVersion
	for rows.Next() {
		var v PlanVersion
		var t int64
		if err := rows.Scan(&t, &v.Plan, &v.Actor); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		v.Time = fromNanos(t)
		out = append(out, v)
	}
	return out, rows.Err()
}
