package control

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.uber.org/zap/zapcore"

	"github.com/leadflow/leadflow/pipeline"
)

// Secret is a webhook signing secret. It does not print, log or marshal:
// fmt verbs, zap, slog, JSON and text encoders all see "[redacted]" (or
// "[none]" when it is empty). Reveal returns the value.
type Secret struct{ v string }

// NewSecret wraps s; an empty s is no secret.
func NewSecret(s string) Secret { return Secret{s} }

// Reveal returns the secret's value, for signing. Never log it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether there is no secret.
func (s Secret) IsZero() bool { return s.v == "" }

// Equal reports whether s and o hold the same value (not in constant
// time: for tests and change detection, not for checking signatures).
func (s Secret) Equal(o Secret) bool { return s.v == o.v }

func (s Secret) redacted() string {
	if s.v == "" {
		return "[none]"
	}
	return "[redacted]"
}

// String returns "[redacted]" or "[none]".
func (s Secret) String() string { return s.redacted() }

// GoString returns "[redacted]" or "[none]".
func (s Secret) GoString() string { return s.redacted() }

// Format writes "[redacted]" or "[none]" whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.redacted()) }

// MarshalJSON writes "[redacted]" or "[none]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.redacted() + `"`), nil }

// MarshalText writes "[redacted]" or "[none]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }

// LogValue makes slog write "[redacted]" or "[none]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalLogObject makes zap.Object write only whether there is a secret.
func (s Secret) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddBool("set", s.v != "")
	return nil
}

// SecretKeyLen is the length of a secret key: AES-256.
const SecretKeyLen = 32

// ErrSecretKey is wrapped by every error about the secret key: a key that
// does not parse, and a sealed secret no configured key opens.
var ErrSecretKey = errors.New("control: webhook secret key")

// ParseSecretKey decodes a secret key written as standard or URL-safe
// base64 (44 characters with padding, 43 without) or as hex (64
// characters). The key must be 32 random bytes: generate one with
// `openssl rand -base64 32`.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*SecretKeyLen {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != SecretKeyLen {
				return nil, fmt.Errorf("%w: decodes to %d bytes, want %d (generate one with `openssl rand -base64 32`)", ErrSecretKey, len(b), SecretKeyLen)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: is neither base64 nor 64 hex characters (generate one with `openssl rand -base64 32`)", ErrSecretKey)
}

// KeyID is the public fingerprint of a secret key: the first 8 bytes of
// SHA-256("leadflow control key id" || key), in hex. Sealed secrets carry
// it so that a reader with the wrong key says which key it needs.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("leadflow control key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// sealAlg marks a sealed secret in a control record.
const sealAlg = "A256GCM"

// sealedSecret is a webhook secret as stored in a control record: either
// sealed (Alg "A256GCM": AES-256-GCM, the key named by KeyID, the
// webhook's record key as additional data) or, when the writer had no key,
// in plain text (Alg "none").
type sealedSecret struct {
	Alg        string `json:"alg"`
	KeyID      string `json:"key_id,omitempty"`
	Nonce      string `json:"nonce,omitempty"`      // base64, 12 bytes
	Ciphertext string `json:"ciphertext,omitempty"` // base64: encrypted secret and GCM tag
	Plaintext  string `json:"plaintext,omitempty"`  // only with Alg "none"
}

// keyring seals with its primary key and opens with any of its keys.
// Errors of newKeyring are *pipeline.FieldError naming secret_key or
// secret_key_previous[i].
type keyring struct {
	primary string // key id; "" when no key is configured
	aeads   map[string]cipher.AEAD
}

func newKeyring(primary []byte, previous [][]byte) (*keyring, error) {
	kr := &keyring{aeads: map[string]cipher.AEAD{}}
	add := func(key []byte) (string, error) {
		if len(key) != SecretKeyLen {
			return "", fmt.Errorf("%w: is %d bytes, want %d", ErrSecretKey, len(key), SecretKeyLen)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return "", err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return "", err
		}
		id := KeyID(key)
		kr.aeads[id] = aead
		return id, nil
	}
	if primary != nil {
		id, err := add(primary)
		if err != nil {
			return nil, &pipeline.FieldError{Field: "secret_key", Reason: err.Error()}
		}
		kr.primary = id
	}
	for i, k := range previous {
		if _, err := add(k); err != nil {
			return nil, &pipeline.FieldError{Field: fmt.Sprintf("secret_key_previous[%d]", i), Reason: err.Error()}
		}
	}
	return kr, nil
}

// seal stores secret for the record key aad: sealed with the primary key,
// or in plain text without one. An empty secret is nil.
func (kr *keyring) seal(secret Secret, aad string) (*sealedSecret, error) {
	if secret.IsZero() {
		return nil, nil
	}
	if kr.primary == "" {
		return &sealedSecret{Alg: "none", Plaintext: secret.v}, nil
	}
	aead := kr.aeads[kr.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct := aead.Seal(nil, nonce, []byte(secret.v), []byte(aad))
	return &sealedSecret{
		Alg: sealAlg, KeyID: kr.primary,
		Nonce:      base64.StdEncoding.EncodeToString(nonce),
		Ciphertext: base64.StdEncoding.EncodeToString(ct),
	}, nil
}

// open returns the secret s holds for the record key aad. Errors wrap
// ErrSecretKey and say which key is needed.
func (kr *keyring) open(s *sealedSecret, aad string) (Secret, error) {
	if s == nil {
		return Secret{}, nil
	}
	switch s.Alg {
	case "none":
		return Secret{s.Plaintext}, nil
	case sealAlg:
	default:
		return Secret{}, fmt.Errorf("%w: secret sealed with unknown algorithm %q", ErrSecretKey, s.Alg)
	}
	aead, ok := kr.aeads[s.KeyID]
	if !ok {
		if len(kr.aeads) == 0 {
			return Secret{}, fmt.Errorf("%w: secret is encrypted with key id %s but no secret key is configured (set secret_key / LEADFLOW_SECRET_KEY to that key)", ErrSecretKey, s.KeyID)
		}
		return Secret{}, fmt.Errorf("%w: secret is encrypted with key id %s, but the configured keys are %s (set secret_key / LEADFLOW_SECRET_KEY to that key, or add it to secret_key_previous)", ErrSecretKey, s.KeyID, kr.ids())
	}
	nonce, err1 := base64.StdEncoding.DecodeString(s.Nonce)
	ct, err2 := base64.StdEncoding.DecodeString(s.Ciphertext)
	if err1 != nil || err2 != nil || len(nonce) != aead.NonceSize() {
		return Secret{}, fmt.Errorf("%w: sealed secret is malformed", ErrSecretKey)
	}
	pt, err := aead.Open(nil, nonce, ct, []byte(aad))
	if err != nil {
		return Secret{}, fmt.Errorf("%w: secret with key id %s does not decrypt: the record was altered or moved from another key", ErrSecretKey, s.KeyID)
	}
	return Secret{string(pt)}, nil
}

// sealedWithPrimary reports whether s needs no resealing.
func (kr *keyring) sealedWithPrimary(s *sealedSecret) bool {
	if s == nil {
		return true
	}
	if kr.primary == "" {
		return s.Alg == "none"
	}
	return s.Alg == sealAlg && s.KeyID == kr.primary
}

func (kr *keyring) ids() string {
	var ids []string
	if kr.primary != "" {
		ids = append(ids, kr.primary+" (primary)")
	}
	for id := range kr.aeads {
		if id != kr.primary {
			ids = append(ids, id)
		}
	}
	return strings.Join(ids, ", ")
}
