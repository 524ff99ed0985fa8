package sqlite

// Access keys (issue 5): access.Store on *Store. Each call is its own
// transaction: writes go through the writer like Update (and may share its
// group commit), reads run on a reader like View. Schema: migration 2 in
// schema.go. Errors name the access key id, never the sealed secret.

import (
	"context"
	"fmt"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

var _ access.Store = (*Store)(nil)

// InsertKey implements access.Store: ErrDuplicate if the id is taken.
func (s *Store) InsertKey(ctx context.Context, k access.Key) error {
	return s.Update(ctx, func(mt meetings.Tx) error {
		args, err := dialect.KeyArgs(k)
		if err == nil {
			_, err = mt.(*tx).exec(ctx, qInsertKey, args...)
		}
		if err != nil {
			return fmt.Errorf("sqlite: insert key %s: %w", k.AccessKeyID, err)
		}
		return nil
	})
}

// Key implements access.Store: ErrNoRecord if absent.
func (s *Store) Key(ctx context.Context, accessKeyID string) (access.Key, error) {
	var out []access.Key
	err := s.viewKeys(ctx, func(t *tx) (err error) {
		out, err = t.keys(ctx, sqlrow.SelectKey, accessKeyID)
		return err
	})
	return dialect.OneKey(out, err, accessKeyID)
}

// Keys implements access.Store: ordered by CreatedAt, then AccessKeyID (byte
// order).
func (s *Store) Keys(ctx context.Context) ([]access.Key, error) {
	var out []access.Key
	err := s.viewKeys(ctx, func(t *tx) (err error) {
		out, err = t.keys(ctx, sqlrow.SelectKeys)
		return err
	})
	return out, err
}

// DeleteKey implements access.Store: ErrNoRecord if absent.
func (s *Store) DeleteKey(ctx context.Context, accessKeyID string) error {
	return s.Update(ctx, func(mt meetings.Tx) error {
		return mt.(*tx).execOne(ctx, "delete key "+accessKeyID, sqlrow.DeleteKey, accessKeyID)
	})
}

// viewKeys runs fn in a View, on the engine's own transaction type.
func (s *Store) viewKeys(ctx context.Context, fn func(t *tx) error) error {
	return s.View(ctx, func(rt meetings.ReadTx) error {
		switch t := rt.(type) {
		case readTx:
			return fn(t.ReadTx.(*tx))
		case *tx:
			return fn(t)
		}
		return fmt.Errorf("sqlite: unexpected transaction type %T", rt)
	})
}

func (t *tx) keys(ctx context.Context, q string, args ...any) ([]access.Key, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []access.Key
	for rows.Next() {
		var r sqlrow.Key
		if err := rows.Scan(r.Dest()...); err != nil {
			return nil, mapErr(err)
		}
		k, err := r.Record(dialect)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
}
