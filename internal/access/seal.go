package access

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// Sealer encrypts key secrets at rest with AES-256-GCM under a key derived
// from the root secret. The root secret lives only in the server's
// environment, never in the store, so a copy of the data directory (or a
// database dump) alone does not reveal any secret. The access key id is the
// additional authenticated data: a sealed secret cannot be moved to another
// key's row. Rotating the root secret makes existing keys unreadable: they
// must be created again.
type Sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

// NewSealer derives the sealing key from the root secret.
func NewSealer(rootSecret string) (*Sealer, error) {
	mac := hmac.New(sha256.New, []byte(rootSecret))
	mac.Write([]byte("carillon access-key sealing v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, rand: rand.Reader}, nil
}

// Seal encrypts secret for the key accessKeyID: nonce || ciphertext.
func (s *Sealer) Seal(accessKeyID, secret string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(accessKeyID)), nil
}

// ErrUnsealable: the sealed secret was not made by this root secret for this
// key (root secret rotated, or the row was tampered with).
var ErrUnsealable = errors.New("access: sealed secret cannot be opened with this root secret")

// Open decrypts a sealed secret of the key accessKeyID.
func (s *Sealer) Open(accessKeyID string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", ErrUnsealable
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(accessKeyID))
	if err != nil {
		return "", ErrUnsealable
	}
	return string(plain), nil
}
