package sqlite

// Access keys (issue 5): access.Store on *Store. Each call is its own
// transaction: writes go through the writer like Update (and may share its
// group commit), reads run on a reader like View. Schema: migration 2 in
// schema.go. Errors name the access key id, never the sealed secret.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

const (
	keyColumns = `access_key_id, name, sealed_secret, actions, meeting_arns, created_at`
	qInsertKey = `INSERT INTO access_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qKey       = `SELECT ` + keyColumns + ` FROM access_keys WHERE access_key_id = ?`
	qKeys      = `SELECT ` + keyColumns + ` FROM access_keys ORDER BY created_at, access_key_id`
	qDeleteKey = `DELETE FROM access_keys WHERE access_key_id = ?`
)

var _ access.Store = (*Store)(nil)

// InsertKey implements access.Store: ErrDuplicate if the id is taken. Nil
// Actions and MeetingARNs are stored as empty lists.
func (s *Store) InsertKey(ctx context.Context, k access.Key) error {
	actions, err := jsonList(k.Actions)
	if err != nil {
		return fmt.Errorf("sqlite: insert key %s: actions: %w", k.AccessKeyID, err)
	}
	arns, err := jsonList(k.MeetingARNs)
	if err != nil {
		return fmt.Errorf("sqlite: insert key %s: meeting ARNs: %w", k.AccessKeyID, err)
	}
	secret := k.SealedSecret
	if secret == nil {
		secret = []byte{} // NOT NULL
	}
	return s.Update(ctx, func(mt meetings.Tx) error {
		_, err := mt.(*tx).exec(ctx, qInsertKey, k.AccessKeyID, k.Name, secret, actions, arns, k.CreatedAt.UnixMicro())
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
		out, err = t.keys(ctx, qKey, accessKeyID)
		return err
	})
	if err != nil {
		return access.Key{}, err
	}
	if len(out) == 0 {
		return access.Key{}, fmt.Errorf("sqlite: key %s: %w", accessKeyID, store.ErrNoRecord)
	}
	return out[0], nil
}

// Keys implements access.Store: ordered by CreatedAt, then AccessKeyID (byte
// order).
func (s *Store) Keys(ctx context.Context) ([]access.Key, error) {
	var out []access.Key
	err := s.viewKeys(ctx, func(t *tx) (err error) {
		out, err = t.keys(ctx, qKeys)
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
		var (
			k             access.Key
			actions, arns string
			createdAt     int64
		)
		if err := rows.Scan(&k.AccessKeyID, &k.Name, &k.SealedSecret, &actions, &arns, &createdAt); err != nil {
			return nil, mapErr(err)
		}
		if k.Actions, err = parseList(actions); err != nil {
			return nil, fmt.Errorf("sqlite: key %s: actions: %w", k.AccessKeyID, err)
		}
		if k.MeetingARNs, err = parseList(arns); err != nil {
			return nil, fmt.Errorf("sqlite: key %s: meeting ARNs: %w", k.AccessKeyID, err)
		}
		if k.SealedSecret == nil {
			k.SealedSecret = []byte{}
		}
		k.CreatedAt = time.UnixMicro(createdAt).UTC()
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
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
func parseList(s string) ([]string, error) {
	l := []string{}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if l == nil { // JSON null
		l = []string{}
	}
	return l, nil
}
