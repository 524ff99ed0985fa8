package access

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Keyring answers "which secret and which policy has this access key": the
// root key from the environment (D24) and the keys in the store. It
// implements sigv4.Keys. Stored keys are read on every request, so a deleted
// key is refused at once, on every node.
type Keyring struct {
	rootID, rootSecret string
	store              Store
	sealer             *Sealer
	now                func() time.Time
}

// NewKeyring returns a Keyring. store may be nil (root only).
func NewKeyring(rootID, rootSecret string, store Store) (*Keyring, error) {
	sealer, err := NewSealer(rootSecret)
	if err != nil {
		return nil, err
	}
	return &Keyring{rootID: rootID, rootSecret: rootSecret, store: store, sealer: sealer, now: time.Now}, nil
}

// IsRoot reports whether accessKeyID is the root key.
func (k *Keyring) IsRoot(accessKeyID string) bool { return accessKeyID == k.rootID }

// Secret implements sigv4.Keys.
func (k *Keyring) Secret(ctx context.Context, accessKeyID string) (string, bool, error) {
	if accessKeyID == k.rootID {
		return k.rootSecret, true, nil
	}
	if k.store == nil {
		return "", false, nil
	}
	key, err := k.store.Key(ctx, accessKeyID)
	if errors.Is(err, store.ErrNoRecord) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	secret, err := k.sealer.Open(key.AccessKeyID, key.SealedSecret)
	if err != nil {
		// Sealed under another root secret: the key cannot be used.
		return "", false, nil
	}
	return secret, true, nil
}

// Policy returns the policy of a stored key; the root key may do anything.
func (k *Keyring) Policy(ctx context.Context, accessKeyID string) (Policy, error) {
	if accessKeyID == k.rootID {
		return Policy{Actions: []string{"chime:*"}}, nil
	}
	if k.store == nil {
		return Policy{}, store.ErrNoRecord
	}
	key, err := k.store.Key(ctx, accessKeyID)
	if err != nil {
		return Policy{}, err
	}
	return Policy{Actions: key.Actions, MeetingARNs: key.MeetingARNs}, nil
}

// NewKey creates and stores a key and returns its id and secret; the secret
// is shown only this once.
func (k *Keyring) NewKey(ctx context.Context, name string, p Policy) (id, secret string, err error) {
	var idBytes [10]byte
	var secretBytes [30]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return "", "", err
	}
	if _, err := rand.Read(secretBytes[:]); err != nil {
		return "", "", err
	}
	// Shaped like AWS keys: 20 upper-case characters, 40-character secret.
	id = "CKIA" + base32.StdEncoding.EncodeToString(idBytes[:])[:16]
	secret = base64.RawURLEncoding.EncodeToString(secretBytes[:])
	sealed, err := k.sealer.Seal(id, secret)
	if err != nil {
		return "", "", err
	}
	err = k.store.InsertKey(ctx, Key{AccessKeyID: id, Name: name, SealedSecret: sealed,
		Actions: p.Actions, MeetingARNs: p.MeetingARNs, CreatedAt: k.now().UTC()})
	if err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// Keys lists the stored keys (sealed secrets included; callers must not
// show them).
func (k *Keyring) Keys(ctx context.Context) ([]Key, error) { return k.store.Keys(ctx) }

// DeleteKey removes a stored key; requests signed with it fail at once.
func (k *Keyring) DeleteKey(ctx context.Context, accessKeyID string) error {
	return k.store.DeleteKey(ctx, accessKeyID)
}
