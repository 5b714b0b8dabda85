package rollout

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
)

// OpenJournalReadOnly opens an existing state file for reading only: a
// read-only command (status, history, a report's timeline) pointed at the
// wrong file must neither create tables in it nor change it. A file that is
// not a cutover state file is an error saying so.
func OpenJournalReadOnly(ctx context.Context, path string) (*Journal, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('rollouts', 'events', 'commands')`).Scan(&n)
	switch {
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("state %s: not a cutover state file (%w)", path, err)
	case n != 3:
		db.Close()
		return nil, fmt.Errorf("state %s: not a cutover state file (no rollout tables)", path)
	}
	return &Journal{db: db, Path: path}, nil
}
