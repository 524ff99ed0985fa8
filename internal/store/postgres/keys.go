package postgres

// Access keys (issue 5): access.Store on *Store. Each call is its own
// transaction (Update or View, with their retries and timeouts). Schema:
// migrations/0002_history_access_keys.sql. Errors name the access key id,
// never the sealed secret.

import (
	"context"
	"fmt"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

var (
	// ON CONFLICT DO NOTHING, reported as ErrDuplicate, like the inserts of
	// tx.go.
	qInsertKey = dialect.InsertKey() + ` ON CONFLICT DO NOTHING`
	qKey       = dialect.SQL(sqlrow.SelectKey)
	qKeys      = sqlrow.SelectKeys
	qDeleteKey = dialect.SQL(sqlrow.DeleteKey)
)

var _ access.Store = (*Store)(nil)

// InsertKey implements access.Store: ErrDuplicate if the id is taken (how
// the codec stores nil lists: sqlrow.Dialect.KeyArgs).
func (s *Store) InsertKey(ctx context.Context, k access.Key) error {
	args, err := dialect.KeyArgs(k)
	if err != nil {
		return err
	}
	return s.Update(ctx, func(mt meetings.Tx) error {
		t := mt.(*tx)
		tag, err := t.tx.Exec(ctx, qInsertKey, args...)
		if err != nil {
			return fmt.Errorf("postgres: insert key %s: %w", k.AccessKeyID, t.fail(ctx, err))
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: insert key %s: %w", k.AccessKeyID, store.ErrDuplicate)
		}
		return nil
	})
}

// Key implements access.Store: ErrNoRecord if absent.
func (s *Store) Key(ctx context.Context, accessKeyID string) (access.Key, error) {
	var out []access.Key
	err := s.View(ctx, func(rt meetings.ReadTx) (err error) {
		out, err = rt.(*tx).keys(ctx, qKey, accessKeyID)
		return err
	})
	return dialect.OneKey(out, err, accessKeyID)
}

// Keys implements access.Store: ordered by CreatedAt, then AccessKeyID (byte
// order).
func (s *Store) Keys(ctx context.Context) ([]access.Key, error) {
	var out []access.Key
	err := s.View(ctx, func(rt meetings.ReadTx) (err error) {
		out, err = rt.(*tx).keys(ctx, qKeys)
		return err
	})
	return out, err
}

// DeleteKey implements access.Store: ErrNoRecord if absent.
func (s *Store) DeleteKey(ctx context.Context, accessKeyID string) error {
	return s.Update(ctx, func(mt meetings.Tx) error {
		return mt.(*tx).execOne(ctx, "delete key "+accessKeyID, qDeleteKey, accessKeyID)
	})
}

func (t *tx) keys(ctx context.Context, q string, args ...any) ([]access.Key, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, t.fail(ctx, err)
	}
	defer rows.Close()
	var out []access.Key
	for rows.Next() {
		var r sqlrow.Key
		if err := rows.Scan(r.Dest()...); err != nil {
			return nil, t.fail(ctx, err)
		}
		k, err := r.Record(dialect)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(ctx, err)
	}
	return out, nil
}
