package postgres

// Access keys (issue 5): access.Store on *Store. Each call is its own
// transaction (Update or View, with their retries and timeouts). Schema:
// migrations/0002_history_access_keys.sql. Errors name the access key id,
// never the sealed secret.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

const (
	keyColumns = `access_key_id, name, sealed_secret, actions, meeting_arns, created_at`
	// ON CONFLICT DO NOTHING, reported as ErrDuplicate, like the inserts of
	// tx.go.
	qInsertKey = `INSERT INTO access_keys (` + keyColumns + `) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	qKey       = `SELECT ` + keyColumns + ` FROM access_keys WHERE access_key_id = $1`
	qKeys      = `SELECT ` + keyColumns + ` FROM access_keys ORDER BY created_at, access_key_id`
	qDeleteKey = `DELETE FROM access_keys WHERE access_key_id = $1`
)

var _ access.Store = (*Store)(nil)

// InsertKey implements access.Store: ErrDuplicate if the id is taken. Nil
// Actions and MeetingARNs are stored as empty lists.
func (s *Store) InsertKey(ctx context.Context, k access.Key) error {
	actions, err := jsonList(k.Actions)
	if err != nil {
		return fmt.Errorf("postgres: insert key %s: actions: %w", k.AccessKeyID, err)
	}
	arns, err := jsonList(k.MeetingARNs)
	if err != nil {
		return fmt.Errorf("postgres: insert key %s: meeting ARNs: %w", k.AccessKeyID, err)
	}
	secret := k.SealedSecret
	if secret == nil {
		secret = []byte{} // NOT NULL
	}
	return s.Update(ctx, func(mt meetings.Tx) error {
		t := mt.(*tx)
		tag, err := t.tx.Exec(ctx, qInsertKey, k.AccessKeyID, k.Name, secret, actions, arns, k.CreatedAt)
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
	if err != nil {
		return access.Key{}, err
	}
	if len(out) == 0 {
		return access.Key{}, fmt.Errorf("postgres: key %s: %w", accessKeyID, store.ErrNoRecord)
	}
	return out[0], nil
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
		var (
			k             access.Key
			actions, arns []byte
		)
		if err := rows.Scan(&k.AccessKeyID, &k.Name, &k.SealedSecret, &actions, &arns, &k.CreatedAt); err != nil {
			return nil, t.fail(ctx, err)
		}
		if k.Actions, err = parseList(actions); err != nil {
			return nil, fmt.Errorf("postgres: key %s: actions: %w", k.AccessKeyID, err)
		}
		if k.MeetingARNs, err = parseList(arns); err != nil {
			return nil, fmt.Errorf("postgres: key %s: meeting ARNs: %w", k.AccessKeyID, err)
		}
		if k.SealedSecret == nil {
			k.SealedSecret = []byte{}
		}
		k.CreatedAt = k.CreatedAt.UTC()
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(ctx, err)
	}
	return out, nil
}

// jsonList encodes a list as a JSON array; nil is the empty array.
func jsonList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// parseList decodes a JSON array; it is never nil.
func parseList(b []byte) ([]string, error) {
	l := []string{}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	if l == nil { // JSON null
		l = []string{}
	}
	return l, nil
}
