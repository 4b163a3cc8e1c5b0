package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles holds the schema, one numbered step per file:
// migrations/0001_init.sql, 0002_….sql, … Applied steps are never edited;
// a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step; the database's PRAGMA user_version is the
// number of the last step applied.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded steps in order and checks they are
// numbered 1, 2, 3, … without gaps or duplicates.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: numbered %d, want %d", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrate applies the steps the database has not seen, all in one IMMEDIATE
// transaction (db is the writer), so two processes opening the same file
// cannot both apply a step and a failed step leaves the schema as it was.
// It returns the resulting schema version.
func migrate(ctx context.Context, db *sql.DB) (version int, err error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error that matters is already in err
		}
	}()
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if version > len(ms) {
		return 0, fmt.Errorf("migrate: database schema version %d is newer than this program's %d", version, len(ms))
	}
	for _, m := range ms[version:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return 0, fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	// PRAGMA takes no bound parameters; len(ms) is an int we control.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(ms))); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(ms), nil
}
